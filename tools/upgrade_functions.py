#!/usr/bin/env python3
"""Regenerate the "replaced functions" block of the newest upgrade script.

The upgrade script of the version in naboom.control names the functions it
replaces on `-- functions:` lines (schema-qualified names, overloads
included); this copies each one's CREATE FUNCTION and COMMENT ON FUNCTION
statements from extension/schema/*.sql (in file order, CREATE made CREATE OR
REPLACE) between the `-- BEGIN replaced functions` and `-- END replaced
functions` lines.  A function whose signature or result type changes needs a
hand-written DROP above the block.

    python3 tools/upgrade_functions.py          # rewrite the block in place
    python3 tools/upgrade_functions.py --check  # exit 1 if it is stale
"""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def statements(text):
    """Split SQL into top-level statements (dollar quotes, strings, comments)."""
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('--', i):
            j = text.find('\n', i)
            i = n if j < 0 else j + 1
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            i = n if j < 0 else j + 2
        elif c == "'":
            i += 1
            while i < n:
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        i += 2
                        continue
                    break
                i += 1
            i += 1
        elif c == '"':
            j = text.find('"', i + 1)
            i = n if j < 0 else j + 1
        elif c == '$':
            m = re.match(r'\$([A-Za-z_][A-Za-z_0-9]*)?\$', text[i:])
            if m and not re.match(r'[A-Za-z_0-9]', text[i - 1] if i else ' '):
                tag = m.group(0)
                j = text.find(tag, i + len(tag))
                i = n if j < 0 else j + len(tag)
            else:
                i += 1
        elif c == ';':
            out.append(text[start:i + 1])
            i += 1
            start = i
        else:
            i += 1
    return out


def strip_leading_comments(stmt):
    lines = stmt.split('\n')
    while lines and (lines[0].strip() == '' or lines[0].lstrip().startswith('--')
                     or lines[0].lstrip().startswith('\\')):
        lines.pop(0)
    return '\n'.join(lines)


FUNC = re.compile(r'^(CREATE(?:\s+OR\s+REPLACE)?\s+FUNCTION|COMMENT\s+ON\s+FUNCTION)\s+([A-Za-z_0-9]+\.[A-Za-z_0-9]+)\s*\(',
                  re.I)


def main():
    check = '--check' in sys.argv
    control = open(os.path.join(ROOT, 'naboom.control')).read()
    version = re.search(r"default_version\s*=\s*'([^']+)'", control).group(1)
    scripts = glob.glob(os.path.join(ROOT, 'extension/upgrade/naboom--*--%s.sql' % version))
    if len(scripts) != 1:
        sys.exit('no single upgrade script to %s: %r' % (version, scripts))
    path = scripts[0]
    text = open(path).read()
    wanted = []
    for line in text.split('\n'):
        if line.startswith('-- functions:'):
            wanted += line[len('-- functions:'):].split()
    wanted_set = set(wanted)
    found, blocks = set(), []
    for f in sorted(glob.glob(os.path.join(ROOT, 'extension/schema/*.sql'))):
        for st in statements(open(f).read()):
            body = strip_leading_comments(st)
            m = FUNC.match(body)
            if not m or m.group(2) not in wanted_set:
                continue
            found.add(m.group(2))
            if m.group(1).upper().startswith('CREATE'):
                body = FUNC.sub(lambda mm: 'CREATE OR REPLACE FUNCTION %s(' % mm.group(2), body, count=1)
            blocks.append(body.strip('\n'))
    missing = [w for w in wanted if w not in found]
    if missing:
        sys.exit('not found in extension/schema: %s' % ' '.join(missing))
    generated = '\n\n'.join(blocks)
    begin = text.index('-- BEGIN replaced functions\n') + len('-- BEGIN replaced functions\n')
    end = text.index('-- END replaced functions')
    new = text[:begin] + '\n' + generated + '\n\n' + text[end:]
    if check:
        if new != text:
            sys.exit('%s: the replaced functions block is stale' % os.path.relpath(path, ROOT))
        return
    if new != text:
        open(path, 'w').write(new)
        print('rewrote %s (%d statements)' % (os.path.relpath(path, ROOT), len(blocks)))


if __name__ == '__main__':
    main()
