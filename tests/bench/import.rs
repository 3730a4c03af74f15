//! `make bench`: writes the guest-import files, 1,000,000 rows by default,
//! as CSV and as XLSX (shared strings, as Excel writes them), with a share
//! of planted duplicates whose ground truth is in their external ids: the
//! duplicate of `G0000123` is `D0000123`.
//!
//! usage: import-bench OUT_DIR ROWS DUP_PERCENT

use rust_xlsxwriter::Workbook;
use std::io::Write;

/// A small deterministic generator (xorshift), so every run writes the
/// same files.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// (character, pinyin): surnames weighted as they are common.
const SURNAMES: &[(&str, &str, usize)] = &[
    ("王", "Wang", 70),
    ("李", "Li", 70),
    ("张", "Zhang", 65),
    ("刘", "Liu", 55),
    ("陈", "Chen", 45),
    ("杨", "Yang", 32),
    ("黄", "Huang", 22),
    ("赵", "Zhao", 22),
    ("吴", "Wu", 20),
    ("周", "Zhou", 20),
    ("徐", "Xu", 14),
    ("孙", "Sun", 14),
    ("马", "Ma", 13),
    ("朱", "Zhu", 12),
    ("胡", "Hu", 11),
    ("郭", "Guo", 11),
    ("何", "He", 10),
    ("高", "Gao", 10),
    ("林", "Lin", 10),
    ("罗", "Luo", 9),
    ("郑", "Zheng", 9),
    ("梁", "Liang", 8),
    ("谢", "Xie", 7),
    ("宋", "Song", 7),
    ("唐", "Tang", 7),
    ("许", "Xu", 6),
    ("韩", "Han", 6),
    ("冯", "Feng", 6),
    ("邓", "Deng", 6),
    ("曹", "Cao", 6),
    ("彭", "Peng", 5),
    ("曾", "Zeng", 5),
    ("肖", "Xiao", 5),
    ("田", "Tian", 5),
    ("董", "Dong", 5),
    ("袁", "Yuan", 4),
    ("潘", "Pan", 4),
    ("于", "Yu", 4),
    ("蒋", "Jiang", 4),
    ("蔡", "Cai", 4),
    ("余", "Yu", 4),
    ("杜", "Du", 4),
    ("叶", "Ye", 4),
    ("程", "Cheng", 4),
    ("苏", "Su", 3),
    ("魏", "Wei", 3),
    ("吕", "Lyu", 3),
    ("丁", "Ding", 3),
    ("任", "Ren", 3),
    ("沈", "Shen", 3),
    ("欧阳", "Ouyang", 1),
    ("司马", "Sima", 1),
    ("诸葛", "Zhuge", 1),
];

const GIVEN: &[(&str, &str)] = &[
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("丽", "li"),
    ("强", "qiang"),
    ("磊", "lei"),
    ("军", "jun"),
    ("洋", "yang"),
    ("勇", "yong"),
    ("艳", "yan"),
    ("杰", "jie"),
    ("娟", "juan"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀", "xiu"),
    ("霞", "xia"),
    ("平", "ping"),
    ("刚", "gang"),
    ("桂", "gui"),
    ("英", "ying"),
    ("华", "hua"),
    ("文", "wen"),
    ("玉", "yu"),
    ("兰", "lan"),
    ("红", "hong"),
    ("建", "jian"),
    ("国", "guo"),
    ("志", "zhi"),
    ("宇", "yu"),
    ("浩", "hao"),
    ("然", "ran"),
    ("欣", "xin"),
    ("怡", "yi"),
    ("晨", "chen"),
    ("阳", "yang"),
    ("鑫", "xin"),
    ("博", "bo"),
    ("佳", "jia"),
    ("琪", "qi"),
    ("子", "zi"),
    ("梓", "zi"),
    ("涵", "han"),
    ("轩", "xuan"),
    ("睿", "rui"),
    ("嘉", "jia"),
    ("俊", "jun"),
    ("凯", "kai"),
    ("昊", "hao"),
    ("婷", "ting"),
    ("雪", "xue"),
    ("慧", "hui"),
    ("颖", "ying"),
    ("倩", "qian"),
    ("雯", "wen"),
    ("瑶", "yao"),
    ("璐", "lu"),
    ("晶", "jing"),
    ("鹏", "peng"),
    ("辉", "hui"),
    ("斌", "bin"),
    ("宁", "ning"),
    ("楠", "nan"),
    ("帆", "fan"),
    ("航", "hang"),
    ("毅", "yi"),
    ("峰", "feng"),
    ("岩", "yan"),
    ("松", "song"),
    ("林", "lin"),
    ("海", "hai"),
    ("波", "bo"),
    ("涌", "yong"),
    ("舟", "zhou"),
    ("思", "si"),
    ("雨", "yu"),
    ("梦", "meng"),
    ("露", "lu"),
    ("晓", "xiao"),
    ("春", "chun"),
    ("秋", "qiu"),
    ("冬", "dong"),
];

const WESTERN_GIVEN: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Hans",
    "Anna",
    "Lukas",
    "Sophie",
    "Pierre",
    "Camille",
    "Marco",
    "Giulia",
    "Kenji",
    "Yuki",
];
const WESTERN_FAMILY: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Mueller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Dubois",
    "Moreau",
    "Rossi",
    "Russo",
    "Tanaka",
];
/// Mainland mobile prefixes the numbering plan assigns.
const MOBILE_PREFIXES: &[&str] = &[
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "176", "177", "180", "181", "182", "183", "185", "186",
    "187", "188", "189",
];
const CITIES: &[&str] = &[
    "上海",
    "北京",
    "广州",
    "深圳",
    "杭州",
    "成都",
    "重庆",
    "武汉",
    "西安",
    "南京",
    "苏州",
    "天津",
    "长沙",
    "郑州",
    "青岛",
    "厦门",
    "昆明",
    "大连",
    "宁波",
    "合肥",
    "福州",
    "济南",
    "沈阳",
    "哈尔滨",
    "三亚",
    "桂林",
    "丽江",
    "拉萨",
];

const HEADER: [&str; 10] = [
    "客户编号",
    "姓名",
    "英文名",
    "手机号",
    "邮箱",
    "出生日期",
    "性别",
    "城市",
    "证件号码",
    "标签",
];

struct Person {
    ext: String,
    name: String,
    latin: String,
    phone: String,
    email: String,
    birthday: String,
    gender: &'static str,
    city: String,
    document: String,
    tags: &'static str,
}

impl Person {
    fn cells(&self) -> [&str; 10] {
        [
            &self.ext,
            &self.name,
            &self.latin,
            &self.phone,
            &self.email,
            &self.birthday,
            self.gender,
            &self.city,
            &self.document,
            self.tags,
        ]
    }
}

fn surname(r: &mut Rng) -> (&'static str, &'static str) {
    let total: usize = SURNAMES.iter().map(|s| s.2).sum();
    let mut x = r.below(total);
    for (c, p, w) in SURNAMES {
        if x < *w {
            return (c, p);
        }
        x -= w;
    }
    ("王", "Wang")
}

/// A GB 11643 resident id number with a valid check digit.
fn resident_id(r: &mut Rng, birthday: &str) -> String {
    let digits = format!(
        "{:06}{}{:03}",
        110101 + r.below(800) * 100,
        birthday.replace('-', ""),
        r.below(1000)
    );
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = digits
        .chars()
        .zip(W)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = ["1", "0", "X", "9", "8", "7", "6", "5", "4", "3", "2"][(sum % 11) as usize];
    format!("{digits}{check}")
}

fn person(r: &mut Rng, i: usize) -> Person {
    let western = r.below(10) == 0;
    let year = 1950 + r.below(56);
    let birthday = if r.below(5) == 0 {
        String::new()
    } else {
        format!("{year}-{:02}-{:02}", 1 + r.below(12), 1 + r.below(28))
    };
    let (name, latin) = if western {
        (
            String::new(),
            format!("{} {}", r.pick(WESTERN_GIVEN), r.pick(WESTERN_FAMILY)),
        )
    } else {
        let (s, sp) = surname(r);
        let n = 1 + r.below(2);
        let mut given = String::new();
        let mut given_p = String::new();
        for _ in 0..n {
            let (c, p) = GIVEN[r.below(GIVEN.len())];
            given.push_str(c);
            given_p.push_str(p);
        }
        (
            format!("{s}{given}"),
            if r.below(4) == 0 {
                format!("{sp} {}", capitalise(&given_p))
            } else {
                String::new()
            },
        )
    };
    let phone = format!(
        "{}{:08}",
        r.pick(MOBILE_PREFIXES),
        (i as u64 * 7919 + 13) % 100_000_000
    );
    let email = if r.below(2) == 0 {
        format!("guest{i}@mail{}.example.com", r.below(50))
    } else {
        String::new()
    };
    let document = if !western && !birthday.is_empty() && r.below(3) == 0 {
        resident_id(r, &birthday)
    } else {
        String::new()
    };
    Person {
        ext: format!("G{i:07}"),
        name,
        latin,
        phone,
        email,
        birthday,
        gender: if r.below(2) == 0 { "男" } else { "女" },
        city: r.pick(CITIES).to_string(),
        document,
        tags: ["", "", "", "商务", "家庭", "VIP;商务"][r.below(6)],
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The same person as entered again by another channel.
fn duplicate_of(r: &mut Rng, p: &Person, i: usize) -> Person {
    let mut d = Person {
        ext: format!("D{i:07}"),
        name: p.name.clone(),
        latin: p.latin.clone(),
        phone: p.phone.clone(),
        email: p.email.clone(),
        birthday: p.birthday.clone(),
        gender: p.gender,
        city: p.city.clone(),
        document: String::new(),
        tags: "",
    };
    match r.below(5) {
        // The phone in another notation, nothing else but the name.
        0 => {
            d.phone = format!("+86 {} {} {}", &p.phone[..3], &p.phone[3..7], &p.phone[7..]);
            d.email.clear();
            d.birthday.clear();
        }
        // The e-mail in capitals, no phone.
        1 if !p.email.is_empty() => {
            d.email = p.email.to_uppercase();
            d.phone.clear();
        }
        // The same identity document, another phone.
        2 if !p.document.is_empty() => {
            d.document = p.document.clone();
            d.phone = format!("159{:08}", (i as u64 * 104_729 + 7) % 100_000_000);
            d.email.clear();
        }
        // A one-letter typo in the Latin name, the same birthday, no contact.
        3 if !p.latin.is_empty() && !p.birthday.is_empty() && p.name.is_empty() => {
            let mut chars: Vec<char> = p.latin.chars().collect();
            let at = 1 + r.below(chars.len() - 2);
            if chars[at] != ' ' {
                chars[at] = if chars[at] == 'e' { 'a' } else { 'e' };
            }
            d.latin = chars.into_iter().collect();
            d.phone.clear();
            d.email.clear();
        }
        // Written in pinyin instead of characters, the same birthday.
        _ if !p.birthday.is_empty() && !p.name.is_empty() => {
            d.name.clear();
            d.latin = pinyin_of(&p.name);
            d.phone.clear();
            d.email.clear();
        }
        // Otherwise: the same phone as typed by the desk.
        _ => {
            d.phone = format!("{}-{}-{}", &p.phone[..3], &p.phone[3..7], &p.phone[7..]);
            d.email.clear();
        }
    }
    d
}

/// "Wei Zhang" for 张伟, from the tables above.
fn pinyin_of(name: &str) -> String {
    let (s, sp) = SURNAMES
        .iter()
        .filter(|(c, _, _)| name.starts_with(c))
        .max_by_key(|(c, _, _)| c.len())
        .map(|(c, p, _)| (*c, *p))
        .unwrap_or(("", ""));
    let given: String = name[s.len()..]
        .chars()
        .filter_map(|c| {
            GIVEN
                .iter()
                .find(|(g, _)| g.starts_with(c))
                .map(|(_, p)| *p)
        })
        .collect();
    format!("{} {sp}", capitalise(&given))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::PathBuf::from(
        args.get(1)
            .ok_or("usage: import-bench OUT_DIR ROWS DUP_PERCENT")?,
    );
    let rows: usize = args
        .get(2)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dup_percent: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(2);
    std::fs::create_dir_all(&out)?;
    let dups = rows * dup_percent / 100;
    let originals = rows - dups;
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut csv = csv::Writer::from_path(out.join("guests.csv"))?;
    let mut book = Workbook::new();
    let sheet = book.add_worksheet_with_low_memory()?;
    csv.write_record(HEADER)?;
    for (c, h) in HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *h)?;
    }
    let mut line: u32 = 1;
    let mut write = |p: &Person,
                     csv: &mut csv::Writer<std::fs::File>|
     -> Result<(), Box<dyn std::error::Error>> {
        let cells = p.cells();
        csv.write_record(cells)?;
        for (c, v) in cells.iter().enumerate() {
            if !v.is_empty() {
                sheet.write_string(line, c as u16, *v)?;
            }
        }
        line += 1;
        Ok(())
    };
    // Every 49th original gets a duplicate later in the file (2 %).
    let step = originals / dups.max(1);
    let mut planted = 0;
    let mut kept: Vec<Person> = Vec::new();
    for i in 0..originals {
        let p = person(&mut r, i);
        write(&p, &mut csv)?;
        if planted < dups && step > 0 && i % step == 0 {
            kept.push(p);
            planted += 1;
        }
        // Duplicates arrive a while after their original, as from a later export.
        if kept.len() >= 1000 || i + 1 == originals {
            for p in kept.drain(..) {
                let n: usize = p.ext[1..].parse()?;
                let d = duplicate_of(&mut r, &p, n);
                write(&d, &mut csv)?;
            }
        }
    }
    csv.flush()?;
    book.save(out.join("guests.xlsx"))?;
    let mut f = std::fs::File::create(out.join("planted"))?;
    writeln!(f, "{planted}")?;
    println!(
        "import-bench: {} rows ({planted} planted duplicates) in {}",
        originals + planted,
        out.display()
    );
    Ok(())
}
