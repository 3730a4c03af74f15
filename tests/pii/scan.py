#!/usr/bin/env python3
"""No personal data in logs: after a full test run with TEST_LOG_FILE set
(`make test` does it), looks in the servers' log for every guest name,
phone number and e-mail address the black-box tests send.

usage: scan.py LOG_FILE [TEST_SOURCES_DIR]

The values are taken from the tests' own sources (JSON bodies and CSV
rows), so a new test's guests are covered without a list to keep. Fails
when the log is empty (nothing was checked) or any value appears in it.
"""
import pathlib
import re
import sys

NAME_KEYS = r"(?:family_name|given_name|family_name_latin|given_name_latin|full_name)"
NAME = re.compile(r'\\?"' + NAME_KEYS + r'\\?"\s*:\s*\\?"([^"\\\n]{1,80})\\?"')
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# Phones as the tests write them: +86 138 0013 8000, 13800138000, +44 20 7946 0958.
PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")
CJK = re.compile(r"[\u3400-\u9fff]")


def values(sources):
    names, emails, phones = set(), set(), set()
    for path in sorted(pathlib.Path(sources).rglob("*.rs")):
        text = path.read_text(encoding="utf-8")
        for m in NAME.finditer(text):
            v = m.group(1).strip()
            if len(v) >= 2 or CJK.search(v):
                names.add(v)
        for m in EMAIL.finditer(text):
            emails.add(m.group(0))
        for s in re.findall(r'"([^"\n]*)"', text):
            for m in PHONE.finditer(s):
                digits = re.sub(r"\D", "", m.group(0))
                if 8 <= len(digits) <= 15:
                    phones.add(digits)
    return names, emails, phones


def main():
    log_path = pathlib.Path(sys.argv[1])
    sources = sys.argv[2] if len(sys.argv) > 2 else str(pathlib.Path(__file__).parent.parent / "api")
    log = log_path.read_text(encoding="utf-8", errors="replace")
    lines = log.count("\n")
    if lines < 100:
        print(f"pii scan: {log_path} has {lines} lines; the servers did not log, nothing was checked")
        return 1
    names, emails, phones = values(sources)
    found = []
    for n in sorted(names):
        # Latin names as words (so "Li" is not found in "limit"); CJK as is.
        pattern = re.escape(n) if CJK.search(n) else r"(?<![A-Za-z])" + re.escape(n) + r"(?![A-Za-z])"
        if len(n) < 3 and not CJK.search(n):
            continue
        if re.search(pattern, log):
            found.append(("name", n))
    for e in sorted(emails):
        if e.lower() in log.lower():
            found.append(("email", e))
    # Phones: the digits as a run of their own (not inside a longer number).
    for p in sorted(phones):
        if re.search(r"(?<!\d)" + p + r"(?!\d)", log):
            found.append(("phone", p))
    print(
        f"pii scan: {lines} log lines, {len(names)} names, {len(emails)} e-mail addresses, "
        f"{len(phones)} phone numbers from the tests"
    )
    for kind, v in found:
        line = next(l for l in log.splitlines() if v.lower() in l.lower() or re.sub(r"\D", "", l).find(v) >= 0)
        print(f"  {kind} found in the log: {v!r}\n    {line[:300]}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
