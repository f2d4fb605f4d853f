"""The seal's impression (印模): a red round stamp drawn from the department's name, as a PNG."""

import io
import math
import subprocess
from functools import cache

from PIL import Image, ImageDraw, ImageFont

RED = (213, 24, 24, 255)
SIZE = 600  # drawn large, scaled down by the PDF viewer


@cache
def _font_path() -> str:
    # Debian's fonts-noto-cjk; fc-match finds it wherever the distribution put it.
    return subprocess.run(["fc-match", "-f", "%{file}", "Noto Serif CJK SC:bold"], capture_output=True, text=True, check=True).stdout


def _font(size: int) -> ImageFont.FreeTypeFont:
    path = _font_path()
    # The .ttc holds JP, KR, SC, TC, HK faces; index 2 is Simplified Chinese in Noto's collections.
    for index in (2, 0):
        try:
            return ImageFont.truetype(path, size, index=index)
        except OSError:
            continue
    return ImageFont.truetype(path, size)


def _star(draw: ImageDraw.ImageDraw, center: float, radius: float) -> None:
    points = []
    for i in range(10):
        angle = math.pi / 2 + i * math.pi / 5
        r = radius if i % 2 == 0 else radius * 0.382
        points.append((center + r * math.cos(angle), center - r * math.sin(angle)))
    draw.polygon(points, fill=RED)


def seal_png(*, department_name: str, seal_label: str = "行政审批专用章") -> bytes:
    """Department name along the upper arc, a five-pointed star, the seal's purpose across the bottom."""
    image = Image.new("RGBA", (SIZE, SIZE), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    center = SIZE / 2
    draw.ellipse((12, 12, SIZE - 12, SIZE - 12), outline=RED, width=18)
    _star(draw, center, SIZE * 0.14)
    # The name runs clockwise over the top, spread over up to 240°.
    characters = list(department_name)
    font_size = max(34, min(66, int(1500 / max(len(characters), 1))))
    font = _font(font_size)
    arc = math.radians(min(240, 18 * len(characters) + 40))
    text_radius = center - 40 - font_size / 2
    for index, character in enumerate(characters):
        share = 0.5 if len(characters) == 1 else index / (len(characters) - 1)
        angle = -arc / 2 + share * arc  # 0 = straight up
        glyph = Image.new("RGBA", (font_size + 10, font_size + 14), (255, 255, 255, 0))
        ImageDraw.Draw(glyph).text(((font_size + 10) / 2, (font_size + 14) / 2), character, font=font, fill=RED, anchor="mm")
        glyph = glyph.rotate(-math.degrees(angle), resample=Image.BICUBIC, expand=True)
        x = center + text_radius * math.sin(angle) - glyph.width / 2
        y = center - text_radius * math.cos(angle) - glyph.height / 2
        image.alpha_composite(glyph, (int(x), int(y)))
    label_font = _font(int(SIZE * 0.075))
    draw.text((center, center + SIZE * 0.27), seal_label, font=label_font, fill=RED, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
