"""Copies what the tfjs-node binding needs out of a TensorFlow wheel (or an installed wheel tree).

Usage: unpack-tf.py (--wheel FILE | --tree SITE_DIR) --dest DIR [--sources FILE...]
  --wheel:   DIR/lib gets libtensorflow_cc.so.2 and libtensorflow_framework.so.2 (zip CRCs checked).
  both:      DIR/include gets the headers that the binding's sources (--sources; default just
             tensorflow/c/c_api.h and tensorflow/c/eager/c_api.h) include, followed transitively
             through "..." includes found under the wheel's tensorflow/include, so the list is
             derived from the sources and the wheel rather than hard-coded.
Standard library only; any python3 works.
"""
import argparse
import os
import re
import shutil
import sys
import zipfile

LIBS = ('libtensorflow_cc.so.2', 'libtensorflow_framework.so.2')
HEADER_ROOTS = ('tensorflow/c/c_api.h', 'tensorflow/c/eager/c_api.h')
INCLUDE_PREFIX = 'tensorflow/include/'
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def header_closure(read, roots):
    """read(relpath) -> bytes or None. Returns {relpath: bytes} for the roots and what they include."""
    found, todo = {}, list(roots)
    while todo:
        rel = todo.pop()
        if rel in found:
            continue
        data = read(rel)
        if data is None:
            if rel in HEADER_ROOTS:
                sys.exit(f'unpack-tf: {rel} is not in the wheel')
            continue  # an include the binding's compile does not reach (guarded by #if)
        found[rel] = data
        todo.extend(INCLUDE_RE.findall(data.decode('utf-8', 'replace')))
    return found


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument('--wheel')
    src.add_argument('--tree')
    ap.add_argument('--dest', required=True)
    ap.add_argument('--sources', nargs='*', default=[])
    args = ap.parse_args()
    roots = list(HEADER_ROOTS)
    for src_file in args.sources:
        with open(src_file, encoding='utf-8', errors='replace') as f:
            roots.extend(INCLUDE_RE.findall(f.read()))  # the binding's own headers are simply not found

    if args.wheel:
        zf = zipfile.ZipFile(args.wheel)
        names = set(zf.namelist())
        os.makedirs(os.path.join(args.dest, 'lib'), exist_ok=True)
        for lib in LIBS:
            with zf.open('tensorflow/' + lib) as fin, open(os.path.join(args.dest, 'lib', lib), 'wb') as fout:
                shutil.copyfileobj(fin, fout, 16 << 20)

        def read(rel):
            name = INCLUDE_PREFIX + rel
            return zf.read(name) if name in names else None
    else:
        def read(rel):
            path = os.path.join(args.tree, INCLUDE_PREFIX, rel)
            if not os.path.isfile(path):
                return None
            with open(path, 'rb') as f:
                return f.read()

    headers = header_closure(read, roots)
    for rel, data in headers.items():
        out = os.path.join(args.dest, 'include', rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, 'wb') as f:
            f.write(data)
    print(f'unpack-tf: {len(headers)} headers' + (f', {len(LIBS)} libraries' if args.wheel else ''))


if __name__ == '__main__':
    main()
