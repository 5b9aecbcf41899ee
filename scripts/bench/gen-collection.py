#!/usr/bin/env python3
"""Writes a generated collection of EPUBs for the distribution benchmark: a few large
"media-like" books (one incompressible resource each, like a lecture video) and many
small books. Usage: gen-collection.py OUT_DIR LARGE_COUNT LARGE_MIB SMALL_COUNT [SMALL_KIB]"""

import os
import sys
import uuid
import zipfile

CONTAINER = """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
<rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def opf(title, ident, extra_item):
    return f"""<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id" xml:lang="zh">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:identifier id="id">urn:uuid:{ident}</dc:identifier><dc:title>{title}</dc:title>
<dc:language>zh</dc:language><meta property="dcterms:modified">2026-11-30T00:00:00Z</meta>
</metadata>
<manifest>
<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
<item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>
{extra_item}
</manifest>
<spine><itemref idref="c1"/></spine>
</package>"""


NAV = """<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>目录</title></head>
<body><nav epub:type="toc"><ol><li><a href="c1.xhtml">第一章</a></li></ol></nav></body></html>"""


def chapter(text):
    return f"""<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>第一章</title></head>
<body><p>{text}</p></body></html>"""


def book(path, title, big_mib=0, text_kib=40, figure_kib=0):
    ident = uuid.uuid4()
    extra = ""
    if big_mib:
        extra = '<item id="v" href="lecture.mp4" media-type="video/mp4"/>'
    if figure_kib:
        extra = '<item id="f" href="figure.bin" media-type="application/octet-stream"/>'
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", zipfile.ZIP_STORED)
        z.writestr("META-INF/container.xml", CONTAINER, zipfile.ZIP_DEFLATED)
        z.writestr("OEBPS/content.opf", opf(title, ident, extra), zipfile.ZIP_DEFLATED)
        z.writestr("OEBPS/nav.xhtml", NAV, zipfile.ZIP_DEFLATED)
        body = ("床前明月光，疑是地上霜。举头望明月，低头思故乡。" * (text_kib * 1024 // 72 + 1))
        z.writestr("OEBPS/c1.xhtml", chapter(body), zipfile.ZIP_DEFLATED)
        if figure_kib:
            z.writestr(zipfile.ZipInfo("OEBPS/figure.bin"), os.urandom(figure_kib * 1024), zipfile.ZIP_STORED)
        if big_mib:
            info = zipfile.ZipInfo("OEBPS/lecture.mp4")
            info.compress_type = zipfile.ZIP_STORED
            with z.open(info, "w", force_zip64=True) as out:
                for _ in range(big_mib):
                    out.write(os.urandom(1024 * 1024))


def main():
    out, large, large_mib, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    small_kib = int(sys.argv[5]) if len(sys.argv) > 5 else 256
    os.makedirs(out, exist_ok=True)
    for i in range(large):
        book(os.path.join(out, f"lecture-{i:03}.epub"), f"国图公开课 第{i + 1}讲", big_mib=large_mib)
    for i in range(small):
        # Small books carry a random paragraph too, so packages are not all alike.
        book(os.path.join(out, f"book-{i:05}.epub"), f"乡土读本 第{i + 1}册", text_kib=60, figure_kib=small_kib)


if __name__ == "__main__":
    main()
