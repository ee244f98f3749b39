#!/usr/bin/env bash
# Seeds the fuzz corpora from the shared captures (read at run time, never committed):
# every corpus and edge frame for decode_frame; the gzip payloads of 100 corpus frames for
# gunzip; every real payload for decode_message; real
# comments, nicknames and hostile texts for sanitize; the shipped templates (plus a real
# comment after a NUL) for template.
set -euo pipefail
cd "$(dirname "$0")"
SHARED="${SHARED:-../../shared}"
mkdir -p corpus/decode_frame corpus/decode_message corpus/gunzip corpus/sanitize corpus/template
python3 - "$SHARED" <<'PY'
import base64, json, os, struct, sys
shared = sys.argv[1]
def frames(path, limit):
    data = open(path, "rb").read(); at = 0; n = 0
    while at + 4 <= len(data) and n < limit:
        (size,) = struct.unpack_from("<I", data, at); at += 4
        yield data[at:at + size]; at += size; n += 1
for i, f in enumerate(frames(os.path.join(shared, "corpus/frames.bin"), 300)):
    open(f"corpus/decode_frame/corpus-{i:04}", "wb").write(f)
def field8(frame):
    """The payload (field 8) of a WebcastPushFrame."""
    at = 0
    def varint():
        nonlocal at
        value = shift = 0
        while True:
            byte = frame[at]; at += 1
            value |= (byte & 0x7f) << shift; shift += 7
            if byte < 0x80:
                return value
    while at < len(frame):
        key = varint()
        if key & 7 == 0:
            varint()
        elif key & 7 == 2:
            size = varint()
            if key >> 3 == 8:
                return frame[at:at + size]
            at += size
        else:
            return None
for i, f in enumerate(frames(os.path.join(shared, "corpus/frames.bin"), 100)):
    payload = field8(f)
    if payload:
        open(f"corpus/gunzip/corpus-{i:03}", "wb").write(payload)
for i, f in enumerate(frames(os.path.join(shared, "corpus/edge.bin"), 10**6)):
    if len(f) < 1 << 20:
        open(f"corpus/decode_frame/edge-{i:02}", "wb").write(f)
methods = ["WebcastChatMessage", "WebcastEmoteChatMessage", "WebcastGiftMessage", "WebcastLikeMessage",
           "WebcastMemberMessage", "WebcastSocialMessage", "WebcastRoomUserSeqMessage", "WebcastControlMessage"]
for i, line in enumerate(open(os.path.join(shared, "fixtures/webcast/real-2023.jsonl"))):
    row = json.loads(line)
    if row["method"] in methods:
        payload = base64.b64decode(row["payload"])
        open(f"corpus/decode_message/real-{i:03}", "wb").write(bytes([methods.index(row["method"])]) + payload)

# sanitize: [max parts byte][text]. Real comments and nicknames (RTL, emoji, odd names),
# then texts built to break IRC or run a command.
texts = []
for line in open(os.path.join(shared, "fixtures/webcast/real-2023.expected.jsonl")):
    row = json.loads(line)
    if row.get("text"):
        texts.append(row["text"])
    if row.get("user", {}).get("nickname"):
        texts.append(row["user"]["nickname"])
texts += [
    "hi\r\nPRIVMSG #other :pwned", "/ban someone", "  . /timeout x 600", "\u200b/me waves",
    "\u202eevil\u202c text", "a" * 600, ("word " * 130).strip(), "Z\u0336" * 80 + "algo",
    "\x00nul\x01ctl\x7f", "\u2028line\u2029sep", "\U000e0000dup bypass", "👩‍👩‍👧‍👦" * 200,
    "....", "   ", "",
]
for i, t in enumerate(dict.fromkeys(texts)):
    open(f"corpus/sanitize/text-{i:03}", "wb").write(bytes([3]) + t.encode("utf-8", "surrogatepass"))

# template: [template] NUL [chat text]. Every template the example config ships, a few
# hand-written ones (loops, filters, errors), each with a real comment.
import re
templates = re.findall(r'^\s*(?:flood_|summary_)?template = "(.*)"$',
                       open("../config.example.toml", encoding="utf-8").read(), re.M)
templates = [t.encode().decode("unicode_escape").encode("latin-1").decode("utf-8") for t in templates]
templates += [
    "{{ user.name | upper }} {{ text | truncate(20) }}",
    "{% for i in range(100) %}{{ i }}{% endfor %}",
    "{% if user.roles.moderator %}[mod] {% endif %}{{ text }}",
    "{{ count | thousands }} {{ streamer }} {{ kind }}",
    "{{ nonexistent }}", "{% raw %}{{ text }}{% endraw %}", "{{ text ~ text ~ text }}",
]
comments = [t for t in texts[:20]] or ["hello"]
for i, t in enumerate(dict.fromkeys(templates)):
    open(f"corpus/template/tpl-{i:03}", "wb").write(t.encode() + b"\0" + comments[i % len(comments)].encode())
PY
echo "seeded: $(ls corpus/decode_frame | wc -l) frames, $(ls corpus/gunzip | wc -l) gzip batches," \
  "$(ls corpus/decode_message | wc -l) payloads," \
  "$(ls corpus/sanitize | wc -l) texts, $(ls corpus/template | wc -l) templates"
