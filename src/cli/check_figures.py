#!/usr/bin/env python3
"""Checks what `simile plot` and `simile report` wrote (ctest simile.cli.plot_svg and simile.cli.report_browser;
the PNG files are checked by check_png.cpp, with simile's own reader).

  check_figures.py --svg FILE...
      each SVG parses as XML, its root is <svg> with a size, and it holds paths.
  check_figures.py --html REPORT --ids ID...
      the page is self-contained (no script, stylesheet link or image from elsewhere); headless Chromium opens
      it: every ID is an element of the DOM it dumps, the charts hold <svg>, the maps and the grid hold base64
      PNG images that decode, the tables have rows; and a screenshot of the page is not blank. Exits with 77
      (ctest's SKIP_RETURN_CODE) when Chromium is not installed.

Standard library only (Debian's python3): Chromium's screenshot and the page's images are decoded here as PNG
(8-bit gray, RGB or RGBA, not interlaced: what cairo and Chromium write).
"""

import argparse
import base64
import html.parser
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
import zlib


def decode_png(data, unfilter=True):
    """(width, height, channels, rows of bytes) of an 8-bit non-interlaced PNG; without `unfilter`, its pixel
    data is only decompressed (which checks it: zlib's checksum) and no rows are returned."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour)
    if depth != 8 or channels is None or interlace:
        raise ValueError(f"PNG of depth {depth}, colour type {colour}, interlace {interlace}: not decoded here")
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    if len(raw) != height * (stride + 1):
        raise ValueError(f"{len(raw)} bytes of pixel data for {width} x {height} x {channels}")
    if not unfilter:
        return width, height, channels, []
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return width, height, channels, rows


def drawn(name, png, min_share=0.01):
    """Problems with a PNG that should show something: a blank or near-blank image."""
    width, height, channels, rows = decode_png(png)
    colour = min(channels, 3)
    values, background = [], 0
    for line in rows:
        for x in range(width):
            pixel = line[x * channels:x * channels + colour]
            values.append(sum(pixel) / colour)
            background += all(v >= 250 for v in pixel)
    mean = sum(values) / len(values)
    variance = sum((v - mean) ** 2 for v in values) / len(values)
    share = 1 - background / len(values)
    problems = []
    if variance < 10:
        problems.append(f"{name}: blank (pixel variance {variance:.1f})")
    if share < min_share:
        problems.append(f"{name}: only {100 * share:.2f} % of its pixels are not background")
    return problems


def check_svg(path):
    root = ET.parse(path).getroot()  # raises on XML that does not parse
    ns = "{http://www.w3.org/2000/svg}"
    problems = []
    if root.tag != ns + "svg":
        problems.append(f"{path}: the root element is {root.tag}, not svg")
    if not root.get("width") or not root.get("viewBox"):
        problems.append(f"{path}: the svg element has no width or viewBox")
    paths = root.findall(f".//{ns}path")
    if len(paths) < 5:
        problems.append(f"{path}: {len(paths)} path elements, expected the axes, ticks, data and glyphs")
    return problems


class Dom(html.parser.HTMLParser):
    """Every element with its id, tag, attributes and the ids of the elements around it."""

    void = {"meta", "img", "br", "hr", "link", "input", "col", "area", "base", "source", "wbr"}

    def __init__(self):
        super().__init__()
        self.elements, self.stack = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        inside = [e["id"] for e in self.stack if e.get("id")]
        self.elements.append({"tag": tag, "id": attrs.get("id"), "attrs": attrs, "inside": inside})
        if tag not in self.void:
            self.stack.append({"tag": tag, "id": attrs.get("id")})

    def handle_endtag(self, tag):
        for k in range(len(self.stack) - 1, -1, -1):  # the serialized DOM closes what it opens
            if self.stack[k]["tag"] == tag:
                del self.stack[k:]
                break


def parse_dom(text):
    dom = Dom()
    dom.feed(text)
    return dom.elements


def chromium_binary():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def run_chromium(binary, profile, *args):
    command = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--no-first-run", f"--user-data-dir={profile}", *args]
    return subprocess.run(command, capture_output=True, timeout=90)


def check_html(path, ids):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    problems = []
    for outside in ("<script", "<link", "src=\"http", "href=\"http", "url(http", "@import"):
        if outside in source:
            problems.append(f"{path}: not self-contained, it holds {outside!r}")
    binary = chromium_binary()
    if binary is None:
        print("SKIP: chromium is not installed (apt-get install chromium): the report was not opened in a browser")
        sys.exit(77)
    url = "file://" + os.path.abspath(path)
    with tempfile.TemporaryDirectory() as profile:
        r = run_chromium(binary, profile, "--dump-dom", url)
        if r.returncode != 0 or b"</html>" not in r.stdout:
            return problems + [f"chromium --dump-dom failed ({r.returncode}): {r.stderr.decode(errors='replace')[-800:]}"]
        elements = parse_dom(r.stdout.decode("utf-8"))
        shot = os.path.join(profile, "shot.png")
        # The top of the page (title, configuration, the first charts): its pixels are decoded here, in Python.
        r = run_chromium(binary, profile, f"--screenshot={shot}", "--window-size=1000,1000", url)
        if r.returncode != 0 or not os.path.exists(shot):
            problems.append(f"chromium --screenshot failed ({r.returncode}): {r.stderr.decode(errors='replace')[-800:]}")
        else:
            with open(shot, "rb") as f:
                problems += drawn("the screenshot of the report", f.read(), min_share=0.05)
    by_id = {e["id"]: e for e in elements if e["id"]}
    for i in ids:
        if i not in by_id:
            problems.append(f"{path}: no element with id {i!r} in the DOM Chromium built")
    sections = [e["id"] for e in elements if e["tag"] == "section"]
    print(f"{len(elements)} elements in the DOM; sections {sections}")
    charts = [e for e in elements if e["tag"] == "svg" and any(i.startswith("chart-") for i in e["inside"])]
    if len(charts) < 3:
        problems.append(f"{path}: {len(charts)} inline svg charts in the DOM, expected at least 3")
    images = [e for e in elements if e["tag"] == "img"]
    for e in images:
        src = e["attrs"].get("src", "")
        where = e["inside"][-1] if e["inside"] else "?"
        if not src.startswith("data:image/png;base64,"):
            problems.append(f"{path}: an image in {where} is not an inline PNG: {src[:60]!r}")
            continue
        try:
            width, height, _, _ = decode_png(base64.b64decode(src.split(",", 1)[1]), unfilter=False)
            print(f"image in {where}: {width} x {height}")
        except Exception as error:  # noqa: BLE001 -- any failure to decode is the finding
            problems.append(f"{path}: the image in {where} does not decode: {error}")
    for table in ("configuration-table", "evaluation-table"):
        rows = [e for e in elements if e["tag"] == "tr" and table in e["inside"]]
        if table in ids and len(rows) < 3:
            problems.append(f"{path}: {table} has {len(rows)} rows")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--svg", nargs="+", default=[])
    ap.add_argument("--html")
    ap.add_argument("--ids", nargs="+", default=[])
    args = ap.parse_args()
    problems = []
    for path in args.svg:
        problems += check_svg(path)
    if args.html:
        problems += check_html(args.html, args.ids)
    checked = len(args.svg) + (1 if args.html else 0)
    for p in problems:
        print("FAIL:", p)
    print(f"{checked} files checked, {len(problems)} problems")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
