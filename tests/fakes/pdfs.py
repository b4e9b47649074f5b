"""Small PDFs written byte by byte, so tests need no PDF library to make them."""


def make_pdf(text="Fair share scheduling", title="Test paper", pages=1):
    """Return the bytes of a valid PDF with ``pages`` pages showing ``text`` and an Info title."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    page_ids = [4 + 2 * index for index in range(pages)]
    kids = " ".join(f"{page_id} 0 R" for page_id in page_ids)
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for index, page_id in enumerate(page_ids):
        stream = f"BT /F1 18 Tf 72 720 Td ({text} page {index + 1}) Tj ET"
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {page_id + 1} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append(f"<< /Title ({title}) /Author (Ada Example) >>")
    info_id = len(objects)

    output = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(output)
    output += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    output += "".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode()
    output += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {info_id} 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(output)


def make_corrupt_pdf():
    """Return a PDF header followed by a cut-off body, as from an interrupted download."""
    return make_pdf()[:300]
