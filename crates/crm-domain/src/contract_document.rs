//! The contract document: a template version's clauses filled with a
//! contract's data. It is built as a list of blocks (title, headings,
//! paragraphs, the rates table) that both the HTML and the PDF render, and
//! its canonical form — the HTML — is what signatures hash: the same
//! template version and data always give the same bytes.

use crate::contract::{parse_body, Clause, Segment};
use crate::values::currency_exponent;

/// Everything a document shows, already formatted for reading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentData {
    pub hotel_name: String,
    pub account_legal_name: String,
    pub account_tax_id: Option<String>,
    pub account_address: Option<String>,
    pub account_kind: String,
    pub contract_code: String,
    pub contract_title: String,
    pub contract_version: i32,
    pub valid_from: String,
    pub valid_to: String,
    pub currency: String,
    pub room_night_commitment: i64,
    pub allotment_per_night: Option<i64>,
    pub payment_terms: Option<String>,
    pub cancellation_terms: Option<String>,
    pub breach_penalty: Option<String>,
    /// Property names.
    pub properties: Vec<String>,
    pub rates: Vec<RateLine>,
    pub clauses: Vec<Clause>,
}

/// One row of the rates table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLine {
    pub property: String,
    pub room_type: String,
    /// `None`: any rate plan.
    pub rate_plan: Option<String>,
    pub price_per_night: i64,
    /// "2027-07-01 – 2027-08-31; …", or empty for the whole validity.
    pub seasons: String,
    pub breakfast_included: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    Title(String),
    /// A line under the title: parties, code, validity.
    Subtitle(String),
    Heading(String),
    Paragraph(String),
    /// Header row, then rows.
    Table(Vec<String>, Vec<Vec<String>>),
}

/// `45800` CNY → `458.00 CNY`.
pub fn format_money(minor: i64, currency: &str) -> String {
    let exp = currency_exponent(currency);
    if exp == 0 {
        return format!("{minor} {currency}");
    }
    let scale = 10i64.pow(exp);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$} {currency}",
        abs / scale,
        abs % scale,
        width = exp as usize
    )
}

impl DocumentData {
    fn variable(&self, name: &str) -> String {
        let or_dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
        match name {
            "hotel.name" => self.hotel_name.clone(),
            "account.legal_name" => self.account_legal_name.clone(),
            "account.tax_id" => or_dash(&self.account_tax_id),
            "account.address" => or_dash(&self.account_address),
            "account.kind" => self.account_kind.clone(),
            "contract.code" => self.contract_code.clone(),
            "contract.title" => self.contract_title.clone(),
            "contract.valid_from" => self.valid_from.clone(),
            "contract.valid_to" => self.valid_to.clone(),
            "contract.currency" => self.currency.clone(),
            "contract.room_night_commitment" => self.room_night_commitment.to_string(),
            "contract.allotment_per_night" => self
                .allotment_per_night
                .map_or_else(|| "—".to_string(), |a| a.to_string()),
            "contract.payment_terms" => or_dash(&self.payment_terms),
            "contract.cancellation_terms" => or_dash(&self.cancellation_terms),
            "contract.breach_penalty" => or_dash(&self.breach_penalty),
            "contract.version" => self.contract_version.to_string(),
            "properties" => self.properties.join("、"),
            // Validated on save; an unknown name cannot reach a document.
            _ => String::new(),
        }
    }

    fn rates_table(&self) -> Block {
        let header = [
            "Property 门店",
            "Room type 房型",
            "Rate plan 价格计划",
            "Price per night 每晚价格",
            "Seasons 适用日期",
            "Breakfast 早餐",
        ]
        .map(String::from)
        .to_vec();
        let rows = self
            .rates
            .iter()
            .map(|r| {
                vec![
                    r.property.clone(),
                    r.room_type.clone(),
                    r.rate_plan
                        .clone()
                        .unwrap_or_else(|| "any 不限".to_string()),
                    format_money(r.price_per_night, &self.currency),
                    if r.seasons.is_empty() {
                        "whole validity 合同有效期内".to_string()
                    } else {
                        r.seasons.clone()
                    },
                    if r.breakfast_included {
                        "yes 含"
                    } else {
                        "no 不含"
                    }
                    .to_string(),
                ]
            })
            .collect();
        Block::Table(header, rows)
    }

    /// The document as blocks, clauses in order.
    pub fn blocks(&self) -> Vec<Block> {
        let mut out = vec![
            Block::Title(self.contract_title.clone()),
            Block::Subtitle(format!(
                "{} — {} · {} · v{}",
                self.hotel_name, self.account_legal_name, self.contract_code, self.contract_version
            )),
            Block::Subtitle(format!("{} – {}", self.valid_from, self.valid_to)),
        ];
        for (i, clause) in self.clauses.iter().enumerate() {
            out.push(Block::Heading(format!("{}. {}", i + 1, clause.title)));
            let mut text = String::new();
            let flush = |text: &mut String, out: &mut Vec<Block>| {
                for line in text.split('\n') {
                    let line = line.trim();
                    if !line.is_empty() {
                        out.push(Block::Paragraph(line.to_string()));
                    }
                }
                text.clear();
            };
            // Bodies were validated on save; a body that no longer parses
            // is shown as written rather than dropped.
            let segments =
                parse_body(&clause.body).unwrap_or_else(|_| vec![Segment::Text(&clause.body)]);
            for s in segments {
                match s {
                    Segment::Text(t) => text.push_str(t),
                    Segment::Variable("rates_table") => {
                        flush(&mut text, &mut out);
                        out.push(self.rates_table());
                    }
                    Segment::Variable(name) => text.push_str(&self.variable(name)),
                }
            }
            flush(&mut text, &mut out);
        }
        out
    }

    /// The canonical document: deterministic HTML, what signatures hash.
    pub fn html(&self) -> String {
        let mut h = String::with_capacity(8 * 1024);
        h.push_str(
            "<!DOCTYPE html>\n<html lang=\"zh\">\n<head>\n<meta charset=\"utf-8\">\n<title>",
        );
        h.push_str(&escape(&self.contract_title));
        h.push_str("</title>\n<style>body{font-family:\"Noto Sans CJK SC\",\"Droid Sans Fallback\",\"WenQuanYi Micro Hei\",sans-serif;max-width:46em;margin:2em auto;line-height:1.6}table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.3em .5em;text-align:left}.sub{color:#555}</style>\n</head>\n<body>\n");
        for b in self.blocks() {
            match b {
                Block::Title(t) => h.push_str(&format!("<h1>{}</h1>\n", escape(&t))),
                Block::Subtitle(t) => h.push_str(&format!("<p class=\"sub\">{}</p>\n", escape(&t))),
                Block::Heading(t) => h.push_str(&format!("<h2>{}</h2>\n", escape(&t))),
                Block::Paragraph(t) => h.push_str(&format!("<p>{}</p>\n", escape(&t))),
                Block::Table(head, rows) => {
                    h.push_str("<table>\n<tr>");
                    for c in head {
                        h.push_str(&format!("<th>{}</th>", escape(&c)));
                    }
                    h.push_str("</tr>\n");
                    for r in rows {
                        h.push_str("<tr>");
                        for c in r {
                            h.push_str(&format!("<td>{}</td>", escape(&c)));
                        }
                        h.push_str("</tr>\n");
                    }
                    h.push_str("</table>\n");
                }
            }
        }
        h.push_str("</body>\n</html>\n");
        h
    }
}

/// HTML text escaping: what a counterparty typed never becomes markup.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ClauseKind;

    fn data() -> DocumentData {
        DocumentData {
            hotel_name: "外滩酒店集团".into(),
            account_legal_name: "上海<示例>科技有限公司".into(),
            account_tax_id: Some("91310000MA1FL0000X".into()),
            account_address: None,
            account_kind: "corporate".into(),
            contract_code: "CORP-2027".into(),
            contract_title: "2027 年度协议客户合同".into(),
            contract_version: 1,
            valid_from: "2027-01-01".into(),
            valid_to: "2027-12-31".into(),
            currency: "CNY".into(),
            room_night_commitment: 500,
            allotment_per_night: Some(5),
            payment_terms: Some("月结 30 天".into()),
            cancellation_terms: None,
            breach_penalty: None,
            properties: vec!["外滩店".into(), "虹桥店".into()],
            rates: vec![RateLine {
                property: "外滩店".into(),
                room_type: "DLK".into(),
                rate_plan: None,
                price_per_night: 45800,
                seasons: String::new(),
                breakfast_included: true,
            }],
            clauses: vec![
                Clause {
                    kind: ClauseKind::ServiceContent,
                    title: "服务内容".into(),
                    body: "甲方：{{hotel.name}}\n乙方：{{account.legal_name}}（{{account.tax_id}}）\n门店：{{properties}}".into(),
                },
                Clause {
                    kind: ClauseKind::PriceTerms,
                    title: "价格条款".into(),
                    body: "协议价如下：{{rates_table}}价格含税。地址：{{account.address}}".into(),
                },
            ],
        }
    }

    #[test]
    fn variables_fill_the_clauses_and_the_rates_table_is_a_block() {
        let blocks = data().blocks();
        assert!(blocks.contains(&Block::Paragraph(
            "乙方：上海<示例>科技有限公司（91310000MA1FL0000X）".into()
        )));
        assert!(blocks.contains(&Block::Paragraph("门店：外滩店、虹桥店".into())));
        let i = blocks
            .iter()
            .position(|b| matches!(b, Block::Table(..)))
            .unwrap();
        assert_eq!(blocks[i - 1], Block::Paragraph("协议价如下：".into()));
        assert_eq!(blocks[i + 1], Block::Paragraph("价格含税。地址：—".into()));
        let Block::Table(_, rows) = &blocks[i] else {
            unreachable!()
        };
        assert_eq!(rows[0][3], "458.00 CNY");
    }

    #[test]
    fn the_html_is_escaped_and_the_same_every_time() {
        let a = data().html();
        assert_eq!(a, data().html());
        assert!(a.contains("上海&lt;示例&gt;科技有限公司"));
        assert!(!a.contains("<示例>"));
        let mut changed = data();
        changed.account_legal_name = "另一家公司".into();
        assert_ne!(a, changed.html());
    }

    #[test]
    fn money_is_shown_in_major_units() {
        assert_eq!(format_money(45800, "CNY"), "458.00 CNY");
        assert_eq!(format_money(5, "CNY"), "0.05 CNY");
        assert_eq!(format_money(12000, "JPY"), "12000 JPY");
        assert_eq!(format_money(-150, "USD"), "-1.50 USD");
    }
}
