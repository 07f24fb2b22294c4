"""Validation speed: ``validate_generate`` on a typical call vs. a bare pydantic validation.

Target (issue #2): median ≤ 25 µs and ≤ 5× the bare pydantic figure measured in the same run.
Run: ``python bench/bench_validate.py``. Prints figures; asserts nothing.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from mediagate.catalog import load_catalog, validate_generate

# Seed 000's image-to-video example, the shape of a typical agent call.
TYPICAL: dict[str, Any] = {
    "prompt": "Gentle motion and subtle movement",
    "model": "kling-2-6-image-to-video",
    "generation_type": "image-to-video",
    "source_media_urls": ["https://example.com/your-image.jpg"],
    "aspect_ratio": "16:9",
    "duration": "5s",
}
TEXT_TO_IMAGE: dict[str, Any] = {
    "prompt": "A futuristic city at sunset with flying cars",
    "model": "nano-banana",
    "generation_type": "text-to-image",
    "aspect_ratio": "16:9",
    "quality": "pro",
}


class BareArgs(BaseModel):
    """The same fields as plain typed pydantic: the floor any validation layer pays."""

    model_config = ConfigDict(extra="forbid")
    prompt: str
    model: str
    generation_type: str | None = None
    negative_prompt: str | None = None
    source_media_urls: list[str] | str | None = None
    aspect_ratio: str | None = None
    duration: str | int | None = None
    quality: str | None = None
    resolution: str | None = None
    sound: bool | None = None
    seed: int | None = None


def median_us(fn: Callable[[], object], *, rounds: int = 31, per_round: int = 2000) -> float:
    """Median over rounds of the mean per-call time in µs (rounds absorb scheduler noise)."""
    for _ in range(per_round):
        fn()
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(per_round):
            fn()
        samples.append((time.perf_counter() - t0) / per_round * 1e6)
    return statistics.median(samples)


def with_fresh_urls(args: dict[str, Any]) -> Callable[[], dict[str, Any]]:
    """Each call gets a URL never seen before: urllib memoises URL parsing, and agents rarely
    repeat the exact same URL, so a repeated one would flatter any URL-parsing code."""
    counter = iter(range(10**9))
    template = args.get("source_media_urls")
    if not template:
        return lambda: args

    def make() -> dict[str, Any]:
        n = next(counter)
        return {**args, "source_media_urls": [f"https://cdn{n}.example.com/in/{n}.jpg"]}

    return make


def main() -> None:
    catalog = load_catalog()
    rows = [
        ("typical image-to-video (kling-2-6)", TYPICAL),
        ("text-to-image with ignored quality (nano-banana)", TEXT_TO_IMAGE),
    ]
    # The dict building is the same for both sides, so it is inside both measured loops.
    make_typical = with_fresh_urls(TYPICAL)
    bare = median_us(lambda: BareArgs.model_validate(make_typical()))
    print(f"bare pydantic model_validate (same args):                       {bare:8.2f} µs")
    for label, args in rows:
        make = with_fresh_urls(args)
        ours = median_us(lambda m=make: validate_generate(m(), catalog))
        verdict = "OK" if ours <= 25 and ours <= 5 * bare else "OVER TARGET"
        print(
            f"validate_generate {label:48s}: {ours:8.2f} µs  "
            f"ratio {ours / bare:5.2f}× bare  [{verdict}: target ≤ 25 µs and ≤ 5×]"
        )


if __name__ == "__main__":
    main()
