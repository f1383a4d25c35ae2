#!/usr/bin/env python3
"""Checks that Maildir messages are well-formed MIME, as a mail client or filter would see them.

    scripts/mail-check.py [--djpeg] [--allow-empty] DIR_OR_FILE...
    scripts/mail-testbed check [--djpeg] [--allow-empty] DIR_OR_FILE...   (same, right python)

Walks every message file in a Maildir's new/ and cur/ below each DIR (a FILE is checked as one
message) and parses it with email.message_from_bytes(raw, policy=email.policy.default). A
message fails when:
  - the email package records a defect on the message, on any part from walk(), or on any
    header of them;
  - From, To, Date, Message-ID, Subject or MIME-Version is missing at the top level;
  - a leaf part's Content-Transfer-Encoding is unknown, or its payload does not decode (base64
    is decoded strictly: only the alphabet, correct padding, lines of at most 76 characters as
    RFC 2045 requires); a text part's charset does not decode;
  - any line is longer than 998 characters (RFC 5322);
  - an image/jpeg part does not open and fully load in Pillow as a JPEG with width and
    height > 0 (Pillow warnings count as failures); with --djpeg, djpeg must also exit 0 with
    empty stderr.
Prints {"mails": n, "parts": n, "jpegs": n, "failures": [{"file": ..., "why": ...}]} ("parts"
counts leaf parts) and exits 1 if there is a failure or no mail was found (unless
--allow-empty), 2 on a usage or environment error (Pillow or djpeg missing).

Pillow: Debian's python3-pil lives in /usr/bin/python3; if Pillow is not importable here the
script re-executes itself with /usr/bin/python3.
"""
import argparse
import base64
import binascii
import email
import email.policy
import io
import json
import os
import quopri
import shutil
import subprocess
import sys
import warnings

SYS_PYTHON = "/usr/bin/python3"
REQUIRED = ("From", "To", "Date", "Message-ID", "Subject", "MIME-Version")
KNOWN_CTE = ("7bit", "8bit", "binary", "quoted-printable", "base64")


def import_pil():
    try:
        from PIL import Image  # noqa: F401
        return Image
    except ImportError:
        pass
    here = os.path.realpath(sys.executable or "")
    if (os.path.exists(SYS_PYTHON) and here != os.path.realpath(SYS_PYTHON)
            and not os.environ.get("MAIL_CHECK_REEXEC")):
        os.environ["MAIL_CHECK_REEXEC"] = "1"
        os.execv(SYS_PYTHON, [SYS_PYTHON, os.path.abspath(__file__)] + sys.argv[1:])
    sys.stderr.write("mail-check: Pillow is not importable (neither by %s nor %s); install "
                     "python3-pil (scripts/mail-testbed install) or pip install pillow\n"
                     % (sys.executable, SYS_PYTHON))
    sys.exit(2)


def message_files(arg, failures):
    """Yields message files: arg itself if a file, else files in */new and */cur below it."""
    if os.path.isfile(arg):
        yield arg
        return
    if not os.path.isdir(arg):
        failures.append({"file": arg, "why": "no such file or directory"})
        return

    def onerror(err):
        failures.append({"file": getattr(err, "filename", arg), "why": "cannot read: %s" % err})

    for dirpath, dirnames, filenames in os.walk(arg, onerror=onerror):
        dirnames.sort()
        if os.path.basename(dirpath) not in ("new", "cur"):
            continue
        for name in sorted(filenames):
            if not name.startswith("."):
                yield os.path.join(dirpath, name)


def defect_text(d):
    text = str(d).strip()
    return type(d).__name__ + (": " + text if text else "")


def describe(part, index):
    name = part.get_filename()
    return "part %d (%s%s)" % (index, part.get_content_type(), ", %s" % name if name else "")


def strict_base64(text):
    """Decodes RFC 2045 base64 strictly; returns (bytes, None) or (None, reason)."""
    lines = text.replace("\r\n", "\n").split("\n")
    longest = max((len(l.rstrip()) for l in lines), default=0)
    if longest > 76:
        return None, "base64 line of %d characters (RFC 2045 allows 76)" % longest
    compact = "".join(text.split())
    if len(compact) % 4:
        return None, "base64 length %d is not a multiple of 4 (truncated or bad padding)" % len(compact)
    try:
        return base64.b64decode(compact, validate=True), None
    except (binascii.Error, ValueError) as exc:
        return None, "base64 does not decode: %s" % exc


def header_defects(part):
    out = []
    for name, value in part.items():
        for d in getattr(value, "defects", ()) or ():
            out.append("header %s: %s" % (name, defect_text(d)))
    return out


def check_jpeg(Image, data, use_djpeg):
    reasons = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format
                img.load()
                w, h = img.size
            if fmt != "JPEG":
                reasons.append("image/jpeg part holds %s data, not JPEG" % fmt)
            if w <= 0 or h <= 0:
                reasons.append("JPEG has size %dx%d" % (w, h))
        except Exception as exc:  # Pillow raises many types (OSError, SyntaxError, ...)
            reasons.append("Pillow cannot load the JPEG: %s: %s" % (type(exc).__name__, exc))
    for w in caught:
        reasons.append("Pillow warning: %s" % w.message)
    if use_djpeg:
        proc = subprocess.run(["djpeg"], input=data, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
        err = proc.stderr.decode("utf-8", "replace").strip()
        if proc.returncode != 0 or err:
            reasons.append("djpeg exit %d%s" % (proc.returncode, ": " + err[:300] if err else ""))
    return reasons


def check_message(path, Image, use_djpeg, totals):
    """Returns a list of failure reasons for one message file."""
    why = []
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        return ["cannot read: %s" % exc]
    if not raw.strip():
        return ["empty file"]
    long_lines = [i + 1 for i, l in enumerate(raw.split(b"\n")) if len(l.rstrip(b"\r")) > 998]
    if long_lines:
        why.append("%d line(s) longer than 998 characters (RFC 5322), first at line %d"
                   % (len(long_lines), long_lines[0]))
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
    except Exception as exc:
        return why + ["does not parse: %s: %s" % (type(exc).__name__, exc)]

    for h in REQUIRED:
        if msg.get(h) is None:
            why.append("missing header %s" % h)

    for index, part in enumerate(msg.walk()):
        label = "message" if index == 0 else describe(part, index)
        for d in part.defects:
            why.append("%s: defect %s" % (label, defect_text(d)))
        try:
            why.extend("%s: %s" % (label, r) for r in header_defects(part))
        except Exception as exc:
            why.append("%s: headers do not parse: %s: %s" % (label, type(exc).__name__, exc))
        if part.is_multipart():
            continue
        totals["parts"] += 1
        cte = str(part.get("Content-Transfer-Encoding", "7bit")).strip().lower()
        payload = part.get_payload(decode=False)
        if not isinstance(payload, str):
            why.append("%s: unexpected payload type %s" % (label, type(payload).__name__))
            continue
        data, undecodable = None, False
        if cte not in KNOWN_CTE:
            why.append("%s: unknown Content-Transfer-Encoding %r" % (label, cte))
            continue
        if cte == "base64":
            data, reason = strict_base64(payload)
            if reason:
                undecodable = True
                why.append("%s: %s" % (label, reason))
        elif cte == "quoted-printable":
            try:
                data = quopri.decodestring(payload.encode("ascii"))
            except (UnicodeEncodeError, ValueError) as exc:
                undecodable = True
                why.append("%s: quoted-printable does not decode: %s" % (label, exc))
        else:
            data = payload.encode("utf-8", "surrogateescape")
        # the email package's own decoding must not add defects either
        try:
            before = len(part.defects)
            decoded = part.get_payload(decode=True)
            for d in part.defects[before:]:
                why.append("%s: defect while decoding: %s" % (label, defect_text(d)))
            if data is None and not undecodable:
                data = decoded
            if part.get_content_maintype() == "text":
                part.get_content()  # charset decoding
        except Exception as exc:
            undecodable = True
            why.append("%s: payload does not decode: %s: %s" % (label, type(exc).__name__, exc))
        if part.get_content_type() == "image/jpeg":
            totals["jpegs"] += 1
            if data is None or undecodable:
                why.append("%s: JPEG not checked (payload did not decode)" % label)
            else:
                why.extend("%s: %s" % (label, r) for r in check_jpeg(Image, data, use_djpeg))
    return why


def main():
    ap = argparse.ArgumentParser(
        prog="mail-check.py",
        description="Check Maildir messages for MIME defects; prints a JSON summary.",
        epilog="Exit status: 0 all good, 1 a failure or no mail found, 2 usage/environment "
               "error. Details: see the module docstring (head of this file).")
    ap.add_argument("paths", nargs="+", metavar="DIR_OR_FILE",
                    help="Maildir(s) or directories containing Maildirs, or message files")
    ap.add_argument("--djpeg", action="store_true",
                    help="also decode every JPEG with djpeg (exit 0, empty stderr)")
    ap.add_argument("--allow-empty", action="store_true",
                    help="do not fail when no message is found")
    args = ap.parse_args()
    Image = import_pil()
    if args.djpeg and not shutil.which("djpeg"):
        sys.stderr.write("mail-check: --djpeg given but djpeg is not installed "
                         "(apt-get install libjpeg-turbo-progs)\n")
        sys.exit(2)

    totals = {"mails": 0, "parts": 0, "jpegs": 0}
    failures = []
    for arg in args.paths:
        for path in message_files(arg, failures):
            totals["mails"] += 1
            for why in check_message(path, Image, args.djpeg, totals):
                failures.append({"file": path, "why": why})
    if totals["mails"] == 0 and not args.allow_empty:
        failures.append({"file": " ".join(args.paths), "why": "no mail found (use --allow-empty to accept)"})
    summary = dict(totals, failures=failures)
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
