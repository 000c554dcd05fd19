#!/usr/bin/env python3
"""Writes sgeventd(1) from the CLI's own help, so the man page never disagrees with it.

Usage: make_man_page.py SGEVENTD_BINARY OUTPUT VERSION

The page has the top-level help as its description, then one subsection per subcommand with
that subcommand's --help, verbatim, and the exit codes and files sgeventd uses.
"""

import datetime
import os
import re
import subprocess
import sys


def help_of(binary, *args):
    out = subprocess.run([binary, *args, "--help"], capture_output=True, text=True, timeout=30)
    return out.stdout


def roff_text(text):
    """Escapes text for roff: backslashes, and leading dots or quotes."""
    lines = []
    for line in text.replace("\\", "\\e").splitlines():
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def subcommands(top_help):
    names, inside = [], False
    for line in top_help.splitlines():
        if line.startswith("Subcommands:"):
            inside = True
            continue
        if inside:
            m = re.match(r"^  ([a-z][a-z-]*)\s", line)
            if m:
                names.append(m.group(1))
            elif line and not line.startswith(" "):
                break
    return names


def main():
    binary, output, version = sys.argv[1:4]
    top = help_of(binary)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0")) or None
    day = (datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc) if epoch
           else datetime.datetime.now(datetime.timezone.utc)).strftime("%Y-%m-%d")
    page = [
        '.TH SGEVENTD 1 "%s" "sgeventd %s" "User Commands"' % (day, version),
        ".SH NAME",
        "sgeventd \\- event daemon for ShotGrid (Flow Production Tracking) sites",
        ".SH SYNOPSIS",
        ".B sgeventd",
        "[\\fIOPTIONS\\fR] \\fISUBCOMMAND\\fR [\\fIARGS\\fR]",
        ".SH DESCRIPTION",
        ".nf",
        roff_text(top),
        ".fi",
        ".SH SUBCOMMANDS",
    ]
    for name in subcommands(top):
        page += [".SS %s" % name, ".nf", roff_text(help_of(binary, name)), ".fi"]
    page += [
        ".SH EXIT STATUS",
        "0 success; 1 the operation failed; 2 bad arguments or configuration;",
        "3 the daemon is not running (status, stop, and the commands that need it).",
        ".SH FILES",
        ".TP",
        ".I /etc/sgeventd/sgeventd.conf",
        "the configuration (a shotgunEventDaemon.conf works unchanged)",
        ".TP",
        ".I /etc/default/sgeventd",
        "the service's environment (the site and its script key)",
        ".TP",
        ".I /var/lib/sgeventd",
        "the state: cursors, gaps, dead letters",
        ".TP",
        ".I /var/log/sgeventd",
        "the logs",
        ".SH SEE ALSO",
        "The documents in /usr/share/doc/sgeventd: cli.md, configuration.md, deploy.md,",
        "admin-api.md, python-plugins.md.",
    ]
    with open(output, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
