"""docs/reproduction.md's tables and figures from results.json.

The page's prose is written by hand; the tool rewrites only what lies between
``<!-- reproduce:NAME -->`` and ``<!-- /reproduce:NAME -->`` (one block per table, ``speed`` and
``run``). A page without one of the markers is an error naming it; a missing page is written
as a skeleton holding every block.
"""

from __future__ import annotations

import io
import os
import re
import statistics
from typing import Any

from matplotlib.figure import Figure

from mae_plugin.analysis.curves import plot_curves

from .execute import write_bytes
from .plan import SCRATCH

# name -> (title, [(row label, variant)], {variant: (paper linear probe, paper fine-tune)}):
# the paper's ViT-L/16 on ImageNet-1K top-1 (He et al. 2021); None where it gives none
TABLES: dict[str, tuple[str, list[tuple[str, str]], dict[str, tuple[Any, Any]]]] = {
    'mask_ratio': (
        'Masking ratio (paper Fig. 5)',
        [('25%', 'mask0.25'), ('50%', 'mask0.50'), ('75%', 'mask0.75'), ('90%', 'mask0.90')],
        {'mask0.75': (73.5, 84.9)},
    ),
    'decoder_depth': (
        'Decoder depth (paper Table 1a)',
        [('1 block', 'dec1'), ('2 blocks', 'mask0.75'), ('8 blocks', 'dec8')],
        {'dec1': (65.5, 84.8), 'mask0.75': (70.0, 84.9), 'dec8': (73.5, 84.9)},
    ),
    'target': (
        'Reconstruction target (paper Table 1d)',
        [('pixels, raw', 'raw'), ('pixels, normalised per patch', 'mask0.75')],
        {'raw': (73.5, 84.9), 'mask0.75': (73.9, 85.4)},
    ),
    'scratch': (
        'MAE pretraining vs a random encoder (paper section 4)',
        [('random encoder (scratch)', SCRATCH), ('MAE (mask 75%, 2 blocks, norm-pix)', 'mask0.75')],
        {SCRATCH: (None, 82.5), 'mask0.75': (None, 84.9)},
    ),
}
CURVES = ('mask_ratio', 'decoder_depth', 'target')  # tables of pretraining variants
BLOCKS = (*TABLES, 'speed', 'run')
METRICS = (('knn', 'kNN'), ('linprobe', 'linear probe'), ('finetune', 'fine-tune'))


def values(results: dict[str, Any], metric: str, variant: str, seeds: list[int]) -> list[float]:
    """One number per seed that was run: kNN top-1 (the random encoder's at step 0 for the
    scratch row), linear-probe or fine-tune top-1."""
    out = []
    for seed in seeds:
        name = f'{variant}_seed{seed}'
        if metric == 'knn':
            run = results['runs'].get(f'pretrain/{name}')
            if variant == SCRATCH:
                run = results['runs'].get(f'pretrain/mask0.75_seed{seed}')
                key = 'knn_top1_random'
            else:
                key = 'knn_top1'
        else:
            run, key = results['runs'].get(f'{metric}/{name}'), 'top1'
        if run is not None:
            out.append(run[key])
    return out


def cell(numbers: list[float]) -> str:
    if not numbers:
        return 'not run'
    mean = f'{statistics.fmean(numbers):.1f}'
    return mean if len(numbers) == 1 else f'{mean} ({", ".join(f"{n:.1f}" for n in numbers)})'


def paper(number: float | None) -> str:
    return '-' if number is None else f'{number:.1f}'


def table(name: str, results: dict[str, Any], seeds: list[int]) -> str:
    title, rows, numbers = TABLES[name]
    lines = [
        f'{title}: top-1 (%) on the held-out digits, mean of seeds {seeds} (each seed in '
        "brackets); the paper's ViT-L on ImageNet-1K beside ours.",
        '',
        '| setting | kNN | linear probe | paper linear probe | fine-tune | paper fine-tune |',
        '| --- | --- | --- | --- | --- | --- |',
    ]
    for label, variant in rows:
        lin, ft = numbers.get(variant, (None, None))
        ours = [cell(values(results, m, variant, seeds)) for m, _ in METRICS]
        lines.append(
            f'| {label} | {ours[0]} | {ours[1]} | {paper(lin)} | {ours[2]} | {paper(ft)} |'
        )
    return '\n'.join(lines)


def savefig(fig: Figure, path: str) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format='png')
    write_bytes(buffer.getvalue(), path)


def bar_chart(name: str, results: dict[str, Any], seeds: list[int], path: str) -> None:
    """Grouped bars (kNN, linear probe, fine-tune) per setting: the mean, each seed a dot."""
    title, rows, _ = TABLES[name]
    fig = Figure(figsize=(7, 3.2), dpi=100)
    ax = fig.subplots()
    width = 0.8 / len(METRICS)
    for m, (metric, label) in enumerate(METRICS):
        legend = label  # on the first bar drawn of each metric
        for r, (_, variant) in enumerate(rows):
            numbers = values(results, metric, variant, seeds)
            if not numbers:
                continue
            x = r + (m - (len(METRICS) - 1) / 2) * width
            ax.bar(x, statistics.fmean(numbers), width, color=f'C{m}', label=legend)
            legend = None
            ax.plot([x] * len(numbers), numbers, 'k.', markersize=4)
    ax.set_xticks(range(len(rows)), [label for label, _ in rows], fontsize='small')
    ax.set_ylabel('top-1 (%), digits')
    ax.set_ylim(0, 118)  # room above the bars for the legend
    ax.set_yticks(range(0, 101, 20))
    ax.set_title(title, fontsize='medium')
    ax.grid(True, axis='y', alpha=0.3)
    ax.legend(fontsize='small', loc='upper center', ncols=len(METRICS))
    fig.tight_layout()
    savefig(fig, path)


def speed_chart(speed: dict[str, Any], path: str) -> None:
    peers = speed['peers']
    fig = Figure(figsize=(5, 2.6), dpi=100)
    ax = fig.subplots()
    labels = ['encoder on visible tokens\n(plugin)', 'encoder with mask tokens\n(mask_tokens)']
    ax.barh(
        labels,
        [peers['plugin']['img_per_s'], peers['mask_tokens']['img_per_s']],
        color=['C0', 'C7'],
    )
    ax.set_xlabel('pretraining img/s (train step)')
    ax.set_title(f'Table 2 at the digits size: {speed["speedup"]:.2f}x', fontsize='medium')
    fig.tight_layout()
    savefig(fig, path)


def curves(name: str, results: dict[str, Any], root: str, seed: int, path: str) -> str | None:
    """The pretraining loss of the table's variants (seed ``seed``), drawn as
    ``tools/analyze_logs.py`` draws it; returns that command, None when none of them was run."""
    rows = [
        (label, v) for label, v in TABLES[name][1] if f'pretrain/{v}_seed{seed}' in results['runs']
    ]
    if not rows:
        return None
    dirs = [os.path.join(root, 'pretrain', f'{v}_seed{seed}') for _, v in rows]
    labels, title = [label for label, _ in rows], f'{TABLES[name][0]}: pretraining loss'
    # what `tools/analyze_logs.py plot_curve` calls, here without the seconds of a new process
    plot_curves(dirs, ['loss'], path, legend=labels, title=title)
    command = [
        'tools/analyze_logs.py',
        'plot_curve',
        *dirs,
        '--keys',
        'loss',
        '--legend',
        *labels,
        '--title',
        title,
        '--out',
        path,
    ]
    return ' '.join(['python', *command])


def speed_block(speed: dict[str, Any] | None, image: str) -> str:
    if speed is None:
        return 'Not run.'
    p, m = speed['peers']['plugin'], speed['peers']['mask_tokens']
    return '\n'.join(
        [
            f'`{" ".join(speed["command"])}` on {speed["machine"]}',
            '',
            '| encoder | img/s | GFLOP/img (printed) | speed-up | paper (ViT-L, Table 2) |',
            '| --- | --- | --- | --- | --- |',
            f'| with mask tokens (`mask_tokens`) | {m["img_per_s"]:.1f} | {m["gflop_per_img"]} | '
            '1.00x | 1.0x |',
            f'| visible tokens only (`plugin`) | {p["img_per_s"]:.1f} | {p["gflop_per_img"]} | '
            f'{speed["speedup"]:.2f}x | 2.8x (8-block decoder) |',
            '',
            f'![img/s of the two encoders]({image})',
        ]
    )


def run_block(results: dict[str, Any]) -> str:
    meta = results['meta']
    kinds = ('pretrain', 'linprobe', 'finetune')
    commands = [
        ' '.join(r['command'])
        for k, r in sorted(results['runs'].items(), key=lambda kr: kinds.index(kr[0].split('/')[0]))
        if k.endswith(f'_seed{results["seeds"][0]}')
    ]
    return '\n'.join(
        [
            f'- date: {meta["date"]}; CPU: {meta["cpu"]} x {meta["cores"]} cores; '
            f'{meta["jobs"]} runs at a time, {meta["threads"]} thread(s) each',
            f'- wall time of the whole set: {meta["wall_min"]:.1f} min (`{meta["command"]}`)',
            f'- seeds {results["seeds"]}; commit {meta["commit"]}',
            '',
            f'The commands of seed {results["seeds"][0]} (the other seeds change `randomness.seed`;'
            " a row's checkpoint is the `last_checkpoint` of its pretraining):",
            '',
            '```text',
            *commands,
            '```',
        ]
    )


def blocks(results: dict[str, Any], root: str, page: str, images: str) -> dict[str, str]:
    """Every block's markdown, its figures written under ``images``."""
    os.makedirs(images, exist_ok=True)
    rel = os.path.relpath(images, os.path.dirname(os.path.abspath(page)))
    seeds = results['seeds']
    out = {}
    for name in TABLES:
        bar_chart(name, results, seeds, os.path.join(images, f'{name}.png'))
        text = [table(name, results, seeds), '', f'![{TABLES[name][0]}]({rel}/{name}.png)']
        if name in CURVES:
            line = curves(name, results, root, seeds[0], os.path.join(images, f'{name}_loss.png'))
            if line is not None:
                text += ['', f'![pretraining loss, seed {seeds[0]}]({rel}/{name}_loss.png)']
        out[name] = '\n'.join(text)
    speed = results.get('speed')
    if speed is not None:
        speed_chart(speed, os.path.join(images, 'speed.png'))
    out['speed'] = speed_block(speed, f'{rel}/speed.png')
    out['run'] = run_block(results)
    return out


def write_page(page: str, content: dict[str, str]) -> None:
    """Replace each block of ``page`` (a skeleton when the page does not exist)."""
    if os.path.isfile(page):
        with open(page, encoding='utf-8') as f:
            text = f.read()
    else:
        text = (
            '# Reproduction\n\n'
            + '\n\n'.join(f'<!-- reproduce:{n} -->\n<!-- /reproduce:{n} -->' for n in BLOCKS)
            + '\n'
        )
    for name in BLOCKS:
        pattern = re.compile(
            rf'(<!-- reproduce:{name} -->\n).*?(<!-- /reproduce:{name} -->)', re.DOTALL
        )
        if not pattern.search(text):
            raise ValueError(f'{page}: no <!-- reproduce:{name} --> ... <!-- /reproduce:{name} -->')
        block = content[name]
        text = pattern.sub(lambda m, block=block: m[1] + block + '\n' + m[2], text)
    write_bytes(text.encode('utf-8'), page)
