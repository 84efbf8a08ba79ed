import QRCode from "qrcode";

/**
 * A printable sheet of QR codes (`kubectl esim qr ORDER --pdf FILE`): A4 pages of 3 × 4 cells, each a
 * QR code with the profile's name and ICCID under it, for a technician installing a batch of devices.
 * A small PDF 1.4 writer: vector modules (sharp at any printer resolution), the standard Helvetica
 * font (no font embedded), no compression, so the file is plain and checkable.
 */

export interface SheetItem {
  /** The text the QR code encodes (an activation code: a secret). */
  code: string;
  /** Lines under the QR code (profile name, ICCID). */
  labels: string[];
}

const PAGE = { width: 595, height: 842 }; // A4 in points
const COLUMNS = 3;
const ROWS = 4;
const MARGIN = 36;
const HEADER = 28;
const LABEL_SIZE = 8;
const QUIET = 4; // modules of white around a QR code

/** cellsPerPage is how many QR codes fit a page. */
export const CELLS_PER_PAGE = COLUMNS * ROWS;

/** pdfText escapes a string for a PDF literal; characters outside Latin-1 become "?". */
function pdfText(text: string): string {
  const latin1 = [...text].map((c) => (c.charCodeAt(0) < 256 ? c : "?")).join("");
  return `(${latin1.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

/** qrOps draws one QR code's dark modules as runs of rectangles, in a square of `side` points at x, y. */
function qrOps(code: string, x: number, y: number, side: number): string {
  const { modules } = QRCode.create(code, { errorCorrectionLevel: "M" });
  const n = modules.size;
  const unit = side / (n + 2 * QUIET);
  const ops = ["q", `1 0 0 1 ${x.toFixed(2)} ${y.toFixed(2)} cm`, `${unit.toFixed(4)} 0 0 ${unit.toFixed(4)} 0 0 cm`];
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      if (!modules.get(row, col)) continue;
      let end = col;
      while (end + 1 < n && modules.get(row, end + 1)) end++;
      // PDF's y axis points up: module row 0 is the top of the square.
      ops.push(`${col + QUIET} ${n - 1 - row + QUIET} ${end - col + 1} 1 re`);
      col = end;
    }
  }
  ops.push("f", "Q");
  return ops.join("\n");
}

function pageOps(title: string, items: readonly SheetItem[], page: number, pages: number): string {
  const cellW = (PAGE.width - 2 * MARGIN) / COLUMNS;
  const cellH = (PAGE.height - 2 * MARGIN - HEADER) / ROWS;
  const side = Math.min(cellW, cellH - 3 * (LABEL_SIZE + 2)) - 8;
  const ops = [
    "BT",
    `/F1 11 Tf 1 0 0 1 ${MARGIN} ${PAGE.height - MARGIN - 12} Tm`,
    `${pdfText(`${title} (page ${page} of ${pages})`)} Tj`,
    "ET",
  ];
  items.forEach((item, i) => {
    const left = MARGIN + (i % COLUMNS) * cellW + (cellW - side) / 2;
    const top = PAGE.height - MARGIN - HEADER - Math.floor(i / COLUMNS) * cellH;
    ops.push(qrOps(item.code, left, top - side, side));
    item.labels.forEach((label, l) => {
      const y = top - side - (l + 1) * (LABEL_SIZE + 2);
      ops.push("BT", `/F1 ${LABEL_SIZE} Tf 1 0 0 1 ${left.toFixed(2)} ${y.toFixed(2)} Tm`, `${pdfText(label)} Tj`, "ET");
    });
  });
  return ops.join("\n");
}

/** sheetPdf renders the items as pages of QR codes with their labels, titled on every page. */
export function sheetPdf(title: string, items: readonly SheetItem[]): Buffer {
  const pages: SheetItem[][] = [];
  for (let i = 0; i < items.length; i += CELLS_PER_PAGE) pages.push(items.slice(i, i + CELLS_PER_PAGE));
  if (pages.length === 0) pages.push([]);
  // Objects: 1 catalog, 2 page tree, 3 font, then a page and its content stream per page.
  const objects: string[] = [];
  const kids = pages.map((_, p) => `${4 + 2 * p} 0 R`).join(" ");
  objects.push("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push(`<< /Type /Pages /Kids [${kids}] /Count ${pages.length} >>`);
  objects.push("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  pages.forEach((cells, p) => {
    const stream = pageOps(title, cells, p + 1, pages.length);
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${PAGE.width} ${PAGE.height}] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + 2 * p} 0 R >>`,
    );
    objects.push(`<< /Length ${Buffer.byteLength(stream, "latin1")} >>\nstream\n${stream}\nendstream`);
  });
  let out = "%PDF-1.4\n%\xe2\xe3\xcf\xd3\n";
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, "latin1"));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, "latin1");
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, "0")} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, "latin1");
}
