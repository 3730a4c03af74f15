//! Contract documents as PDF: the same blocks as the canonical HTML, laid
//! out on A4 in one TrueType font with Chinese glyphs, embedded as a
//! subset (only the glyphs used) in a Type 0 / CIDFontType2 font with a
//! ToUnicode map, so the text can be searched and copied.
//!
//! The font is a file on the machine: `HOTEL_CRM_PDF_FONT`, or the first of
//! the usual system paths that exists (Debian's `fonts-wqy-microhei`, which
//! `.ci/run` installs and the README asks for).

use crm_domain::contract_document::{Block, DocumentData};
use crm_storage::contracts::Signature;
use miniz_oxide::deflate::compress_to_vec_zlib;
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId};

/// Where a CJK TrueType font usually is, in order of preference.
/// Each must cover Latin as well as Chinese: contracts mix both, and the
/// document is set in one font (Droid Sans Fallback, for one, has no
/// Latin letters).
pub const FONT_PATHS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no CJK font found: set HOTEL_CRM_PDF_FONT or install fonts-wqy-microhei")]
    FontMissing,
    #[error("the font {0} cannot be used: {1}")]
    FontInvalid(String, String),
    #[error("the font cannot be subset: {0}")]
    Subset(String),
}

/// Font files read once per process.
fn font_bytes(configured: Option<&str>) -> Result<(String, Arc<Vec<u8>>), PdfError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let candidates: Vec<&str> = match configured {
        Some(p) => vec![p],
        None => FONT_PATHS.to_vec(),
    };
    for path in candidates {
        if let Some(b) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(path) {
            return Ok((path.to_string(), b.clone()));
        }
        if let Ok(bytes) = std::fs::read(path) {
            let bytes = Arc::new(bytes);
            cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(path.to_string(), bytes.clone());
            return Ok((path.to_string(), bytes));
        }
        if configured.is_some() {
            return Err(PdfError::FontInvalid(
                path.to_string(),
                "cannot be read".into(),
            ));
        }
    }
    Err(PdfError::FontMissing)
}

/// The face of a file (of a collection, the first with both Chinese and
/// Latin glyphs).
fn parse_face<'a>(path: &str, data: &'a [u8]) -> Result<(Face<'a>, u32), PdfError> {
    let faces = ttf_parser::fonts_in_collection(data).unwrap_or(1);
    for index in 0..faces {
        if let Ok(face) = Face::parse(data, index) {
            if face.glyph_index('中').is_some() && face.glyph_index('A').is_some() {
                return Ok((face, index));
            }
        }
    }
    Err(PdfError::FontInvalid(
        path.to_string(),
        "not a TrueType font with Chinese and Latin glyphs".into(),
    ))
}

/// The font as used in one document: glyphs are numbered in order of
/// first use, and that number is the CID written in the text.
struct DocFont<'a> {
    data: &'a [u8],
    index: u32,
    face: Face<'a>,
    remap: GlyphRemapper,
    unicode: BTreeMap<u16, char>,
}

impl DocFont<'_> {
    fn glyph(&self, c: char) -> GlyphId {
        self.face.glyph_index(c).unwrap_or(GlyphId(0))
    }

    fn width(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .map(|c| u32::from(self.face.glyph_hor_advance(self.glyph(c)).unwrap_or(0)))
            .sum();
        units as f32 * size / f32::from(self.face.units_per_em())
    }

    /// Identity-H bytes: each glyph's CID, two bytes big-endian.
    fn encode(&mut self, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(text.len() * 2);
        for c in text.chars() {
            let old = self.glyph(c).0;
            let new = self.remap.remap(old);
            if old != 0 {
                self.unicode.entry(new).or_insert(c);
            }
            out.extend_from_slice(&new.to_be_bytes());
        }
        out
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

/// Greedy line breaking: between any two CJK characters, after spaces
/// elsewhere; a word longer than the line is broken where it must be.
fn wrap(f: &DocFont, text: &str, size: f32, max_width: f32) -> Vec<String> {
    let mut tokens: Vec<String> = Vec::new();
    for c in text.chars() {
        match tokens.last_mut() {
            Some(t) if !is_cjk(c) && !t.ends_with(' ') && !t.chars().last().is_some_and(is_cjk) => {
                t.push(c)
            }
            _ => tokens.push(c.to_string()),
        }
    }
    let mut lines = Vec::new();
    let (mut line, mut width) = (String::new(), 0.0);
    for token in tokens {
        let w = f.width(&token, size);
        if width + w > max_width && !line.is_empty() {
            lines.push(std::mem::take(&mut line).trim_end().to_string());
            width = 0.0;
        }
        if w > max_width {
            // One long run (a URL, a hash): break it by characters.
            for c in token.chars() {
                let cw = f.width(&c.to_string(), size);
                if width + cw > max_width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                    width = 0.0;
                }
                line.push(c);
                width += cw;
            }
            continue;
        }
        line.push_str(&token);
        width += w;
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

const PAGE: (f32, f32) = (595.28, 841.89);
const MARGIN: f32 = 56.7;

struct Line {
    x: f32,
    y: f32,
    size: f32,
    text: String,
}

#[derive(Default)]
struct Page {
    lines: Vec<Line>,
    /// x1, y1, x2, y2
    rules: Vec<[f32; 4]>,
}

/// Lays blocks out top to bottom, page after page.
struct Layout {
    pages: Vec<Page>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Layout {
            pages: vec![Page::default()],
            y: PAGE.1 - MARGIN,
        }
    }

    fn page(&mut self) -> &mut Page {
        if self.pages.is_empty() {
            self.pages.push(Page::default());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn ensure(&mut self, height: f32) {
        if self.y - height < MARGIN + 20.0 {
            self.pages.push(Page::default());
            self.y = PAGE.1 - MARGIN;
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Page::default());
        self.y = PAGE.1 - MARGIN;
    }

    fn text(&mut self, f: &DocFont, text: &str, size: f32, gap_after: f32) {
        let width = PAGE.0 - 2.0 * MARGIN;
        for line in wrap(f, text, size, width) {
            self.ensure(size * 1.5);
            let y = self.y - size;
            self.page().lines.push(Line {
                x: MARGIN,
                y,
                size,
                text: line,
            });
            self.y -= size * 1.5;
        }
        self.y -= gap_after;
    }

    fn table(&mut self, f: &DocFont, head: &[String], rows: &[Vec<String>]) {
        let size = 8.5;
        let width = PAGE.0 - 2.0 * MARGIN;
        let columns = head.len().max(1);
        let col = width / columns as f32;
        let pad = 3.0;
        let draw_row = |layout: &mut Layout, cells: &[String]| {
            let wrapped: Vec<Vec<String>> = cells
                .iter()
                .map(|c| wrap(f, c, size, col - 2.0 * pad))
                .collect();
            let lines = wrapped.iter().map(Vec::len).max().unwrap_or(1).max(1);
            let height = lines as f32 * size * 1.4 + 2.0 * pad;
            layout.ensure(height);
            let top = layout.y;
            for (i, cell) in wrapped.iter().enumerate() {
                for (j, text) in cell.iter().enumerate() {
                    let (x, y) = (
                        MARGIN + i as f32 * col + pad,
                        top - pad - size - j as f32 * size * 1.4,
                    );
                    layout.page().lines.push(Line {
                        x,
                        y,
                        size,
                        text: text.clone(),
                    });
                }
            }
            let bottom = top - height;
            let page = layout.page();
            page.rules.push([MARGIN, top, MARGIN + width, top]);
            page.rules.push([MARGIN, bottom, MARGIN + width, bottom]);
            for i in 0..=columns {
                let x = MARGIN + i as f32 * col;
                page.rules.push([x, top, x, bottom]);
            }
            layout.y = bottom;
        };
        draw_row(self, head);
        for r in rows {
            draw_row(self, r);
        }
        self.y -= 10.0;
    }
}

/// The contract document as PDF: its blocks, then a page recording the
/// electronic signatures and the canonical document's SHA-256.
pub fn contract_pdf(
    font: Option<&str>,
    data: &DocumentData,
    document_sha256: &str,
    signatures: &[Signature],
) -> Result<Vec<u8>, PdfError> {
    let (path, bytes) = font_bytes(font)?;
    let (face, index) = parse_face(&path, &bytes)?;
    let mut f = DocFont {
        data: &bytes,
        index,
        face,
        remap: GlyphRemapper::new(),
        unicode: BTreeMap::new(),
    };
    let mut layout = Layout::new();
    for block in data.blocks() {
        match block {
            Block::Title(t) => layout.text(&f, &t, 18.0, 6.0),
            Block::Subtitle(t) => layout.text(&f, &t, 9.5, 2.0),
            Block::Heading(t) => {
                layout.y -= 8.0;
                layout.ensure(13.0 * 3.0);
                layout.text(&f, &t, 13.0, 2.0);
            }
            Block::Paragraph(t) => layout.text(&f, &t, 10.5, 3.0),
            Block::Table(head, rows) => layout.table(&f, &head, &rows),
        }
    }
    layout.new_page();
    layout.text(&f, "电子签署记录 Electronic signatures", 14.0, 6.0);
    layout.text(
        &f,
        &format!("Document SHA-256 文件摘要: {document_sha256}"),
        8.5,
        8.0,
    );
    if signatures.is_empty() {
        layout.text(&f, "Not yet signed. 尚未签署。", 10.5, 4.0);
    }
    for s in signatures {
        let party = match s.party {
            crm_domain::contract::SigningParty::Hotel => "Hotel 甲方",
            crm_domain::contract::SigningParty::Counterparty => "Counterparty 乙方",
        };
        layout.text(
            &f,
            &format!(
                "{party}: {}{}",
                s.signer_name,
                s.signer_title
                    .as_deref()
                    .map(|t| format!(", {t}"))
                    .unwrap_or_default()
            ),
            11.0,
            1.0,
        );
        layout.text(
            &f,
            &format!(
                "Signed 签署时间: {} · IP: {} · {}",
                s.signed_at.format("%Y-%m-%d %H:%M:%S UTC"),
                s.ip.as_deref().unwrap_or("—"),
                s.user_agent.as_deref().unwrap_or("—")
            ),
            8.5,
            1.0,
        );
        layout.text(
            &f,
            &format!("Consent 同意声明: {}", s.consent_text),
            8.5,
            8.0,
        );
    }
    let total = layout.pages.len();
    let footer = |i: usize| {
        format!(
            "{} · v{} · {}/{} · SHA-256 {}",
            data.contract_code,
            data.contract_version,
            i + 1,
            total,
            &document_sha256[..document_sha256.len().min(16)]
        )
    };
    for (i, page) in layout.pages.iter_mut().enumerate() {
        page.lines.push(Line {
            x: MARGIN,
            y: MARGIN - 20.0,
            size: 7.5,
            text: footer(i),
        });
    }
    write(&mut f, &layout.pages)
}

impl From<PdfError> for crate::error::ApiError {
    /// A 503 that says what to install; the font's path stays in the log.
    fn from(e: PdfError) -> Self {
        let code = match e {
            PdfError::FontMissing => "pdf_font_missing",
            _ => "pdf_unavailable",
        };
        let mut err = crate::error::ApiError::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            code,
            "Contract PDFs need a TrueType font with Chinese and Latin glyphs: install fonts-wqy-microhei or set HOTEL_CRM_PDF_FONT.",
        );
        err.internal = Some(e.to_string());
        err
    }
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    compress_to_vec_zlib(bytes, 6)
}

const F1: Name<'static> = Name(b"F1");
const IDENTITY: SystemInfo<'static> = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

fn write(f: &mut DocFont, pages: &[Page]) -> Result<Vec<u8>, PdfError> {
    let mut pdf = Pdf::new();
    let mut id = Ref::new(1);
    let (catalog, tree) = (id.bump(), id.bump());
    let (type0, cid, descriptor, to_unicode, file) =
        (id.bump(), id.bump(), id.bump(), id.bump(), id.bump());
    let page_ids: Vec<Ref> = pages.iter().map(|_| id.bump()).collect();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);

    // Content first: writing the text is what numbers the glyphs.
    for (page, &page_id) in pages.iter().zip(&page_ids) {
        let content_id = id.bump();
        let mut c = Content::new();
        for l in &page.lines {
            let encoded = f.encode(&l.text);
            c.begin_text();
            c.set_font(F1, l.size);
            c.set_text_matrix([1.0, 0.0, 0.0, 1.0, l.x, l.y]);
            c.show(Str(&encoded));
            c.end_text();
        }
        if !page.rules.is_empty() {
            c.set_line_width(0.5);
            for &[x1, y1, x2, y2] in &page.rules {
                c.move_to(x1, y1);
                c.line_to(x2, y2);
            }
            c.stroke();
        }
        pdf.stream(content_id, &deflate(&c.finish()))
            .filter(Filter::FlateDecode);
        let mut p = pdf.page(page_id);
        p.parent(tree)
            .media_box(Rect::new(0.0, 0.0, PAGE.0, PAGE.1))
            .contents(content_id);
        p.resources().fonts().pair(F1, type0);
        p.finish();
    }

    let k = 1000.0 / f32::from(f.face.units_per_em());
    let postscript: String = f
        .face
        .names()
        .into_iter()
        .find(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME && n.is_unicode())
        .and_then(|n| n.to_string())
        .unwrap_or_else(|| "CJKFont".into())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    // A subset's name starts with six letters naming the subset.
    let tag: String = {
        let digest = crate::crypto::sha256_hex(
            &f.remap
                .remapped_gids()
                .flat_map(|g| g.to_be_bytes())
                .collect::<Vec<u8>>(),
        );
        digest
            .bytes()
            .take(6)
            .map(|b| (b'A' + b % 26) as char)
            .collect()
    };
    let base = format!("{tag}+{postscript}");

    pdf.type0_font(type0)
        .base_font(Name(base.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(to_unicode);

    let widths: Vec<f32> = f
        .remap
        .remapped_gids()
        .map(|g| f32::from(f.face.glyph_hor_advance(GlyphId(g)).unwrap_or(0)) * k)
        .collect();
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(base.as_bytes()))
        .system_info(IDENTITY)
        .font_descriptor(descriptor)
        .default_width(1000.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid_font.widths().consecutive(0, widths);
    cid_font.finish();

    let bbox = f.face.global_bounding_box();
    let ascent = f32::from(f.face.ascender()) * k;
    pdf.font_descriptor(descriptor)
        .name(Name(base.as_bytes()))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * k,
            f32::from(bbox.y_min) * k,
            f32::from(bbox.x_max) * k,
            f32::from(bbox.y_max) * k,
        ))
        .italic_angle(f.face.italic_angle())
        .ascent(ascent)
        .descent(f32::from(f.face.descender()) * k)
        .cap_height(f.face.capital_height().map_or(ascent, |c| f32::from(c) * k))
        .stem_v(80.0)
        .font_file2(file);

    let mut cmap: UnicodeCmap<u16> = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
    for (&glyph, &c) in &f.unicode {
        cmap.pair(glyph, c);
    }
    pdf.cmap(to_unicode, &deflate(&cmap.finish()))
        .filter(Filter::FlateDecode);

    let subset = subsetter::subset(f.data, f.index, &f.remap)
        .map_err(|e| PdfError::Subset(format!("{e:?}")))?;
    let compressed = deflate(&subset);
    let mut stream = pdf.stream(file, &compressed);
    stream.filter(Filter::FlateDecode);
    stream.pair(Name(b"Length1"), subset.len() as i32);
    stream.finish();
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crm_domain::contract::{Clause, ClauseKind};
    use crm_domain::contract_document::RateLine;

    fn data() -> DocumentData {
        DocumentData {
            hotel_name: "外滩酒店集团 Bund Hotels".into(),
            account_legal_name: "上海示例科技有限公司".into(),
            account_tax_id: None,
            account_address: None,
            account_kind: "corporate".into(),
            contract_code: "CORP-1".into(),
            contract_title: "协议客户合同 Corporate agreement".into(),
            contract_version: 1,
            valid_from: "2027-01-01".into(),
            valid_to: "2027-12-31".into(),
            currency: "CNY".into(),
            room_night_commitment: 100,
            allotment_per_night: None,
            payment_terms: None,
            cancellation_terms: None,
            breach_penalty: None,
            properties: vec!["外滩店".into()],
            rates: vec![RateLine {
                property: "外滩店".into(),
                room_type: "DLK 豪华大床房".into(),
                rate_plan: None,
                price_per_night: 42800,
                seasons: String::new(),
                breakfast_included: true,
            }],
            clauses: (0..40)
                .map(|i| Clause {
                    kind: ClauseKind::Other,
                    title: format!("条款 {i}"),
                    body: "双方经友好协商，就乙方员工入住甲方酒店事宜达成如下协议。The parties agree as follows. {{rates_table}}".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn chinese_text_is_embedded_as_a_searchable_subset() {
        let Ok((path, bytes)) = font_bytes(None) else {
            // Without a CJK font on this machine there is nothing to test;
            // `.ci/run` installs one, so CI always runs this.
            assert!(
                std::env::var("CI_REQUIRES_FONT").is_err(),
                "CI must have a CJK font"
            );
            return;
        };
        let pdf = contract_pdf(None, &data(), &"ab".repeat(32), &[]).unwrap();
        // `PDF_OUT=/tmp/c.pdf cargo test -p crm-api pdf` keeps it to look at.
        if let Ok(out) = std::env::var("PDF_OUT") {
            std::fs::write(out, &pdf).unwrap();
        }
        assert!(pdf.starts_with(b"%PDF-"));
        // A subset, not the whole font (which is megabytes).
        assert!(
            pdf.len() < bytes.len() / 4,
            "{} bytes from {path}",
            pdf.len()
        );
        let text = String::from_utf8_lossy(&pdf);
        assert!(text.contains("/Identity-H") && text.contains("/ToUnicode"));
        assert!(text.contains("/CIDFontType2") && text.contains("/FontFile2"));
        // 40 clauses with a table each do not fit on one page.
        let count: usize = text
            .split("/Count ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert!(count > 3, "{count} pages");
    }

    #[test]
    fn lines_break_between_chinese_characters_and_at_spaces() {
        let Ok((path, bytes)) = font_bytes(None) else {
            return;
        };
        let (face, index) = parse_face(&path, &bytes).unwrap();
        let f = DocFont {
            data: &bytes,
            index,
            face,
            remap: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
        };
        let lines = wrap(
            &f,
            "双方经友好协商达成如下协议 and then some English words",
            10.0,
            80.0,
        );
        assert!(lines.len() > 2, "{lines:?}");
        assert!(
            lines.iter().all(|l| f.width(l, 10.0) <= 80.0 + 0.01),
            "{lines:?}"
        );
        assert_eq!(
            lines.concat().replace(' ', ""),
            "双方经友好协商达成如下协议andthensomeEnglishwords"
        );
    }
}
