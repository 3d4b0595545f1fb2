"""Generate tickerleague/data/common-passwords.txt from zxcvbn's frequency list of leaked passwords.

Only passwords the length policy would otherwise accept (10 to 128 characters) are kept: shorter ones are refused by
length already. Run with `make data`; the output is committed so the Lambda layer carries no zxcvbn.
"""

from __future__ import annotations

from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

OUT = Path(__file__).resolve().parents[2] / "layers/core/tickerleague/data/common-passwords.txt"


def main() -> None:
    passwords = sorted({word.lower() for word in FREQUENCY_LISTS["passwords"] if 10 <= len(word) <= 128})
    header = "# Common passwords (zxcvbn frequency list, 10+ characters). Made by infra/build/gen_common_passwords.py"
    OUT.write_text(header + "\n" + "\n".join(passwords) + "\n", encoding="utf-8")
    print(f"wrote {len(passwords)} passwords to {OUT}")


if __name__ == "__main__":
    main()
