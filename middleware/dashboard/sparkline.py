"""Tiny week-by-week trend lines, decorative: the figures beside them carry the meaning."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup

WIDTH, HEIGHT, PAD = 120, 28, 3


def sparkline_svg(values: Sequence[float | None]) -> Markup:
    """Return an `aria-hidden` SVG polyline of `values` (None leaves a gap), or nothing."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    if len(points) < 2:
        return Markup("")
    low = min(v for _, v in points)
    high = max(v for _, v in points)
    span = (high - low) or 1.0
    step = (WIDTH - 2 * PAD) / max(len(values) - 1, 1)
    coords = [(round(PAD + i * step, 1), round(HEIGHT - PAD - (v - low) / span * (HEIGHT - 2 * PAD),
                                                  1)) for i, v in points]
    path = " ".join(f"{x},{y}" for x, y in coords)
    last_x, last_y = coords[-1]
    # Numbers only: nothing from outside reaches this markup.
    return Markup(  # noqa: S704
        f'<svg class="sparkline" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" '
        f'aria-hidden="true" focusable="false"><polyline points="{path}" fill="none" '
        f'stroke="#0b5cad" stroke-width="2" vector-effect="non-scaling-stroke"/>'
        f'<circle cx="{last_x}" cy="{last_y}" r="2.5" fill="#0b5cad"/></svg>'
    )
