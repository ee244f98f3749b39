#!/usr/bin/env bash
# Seeds the fuzz corpora from the shared captures (read at run time, never committed):
# every corpus and edge frame for decode_frame; every real payload for decode_message.
set -euo pipefail
cd "$(dirname "$0")"
SHARED="${SHARED:-../../shared}"
mkdir -p corpus/decode_frame corpus/decode_message
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
PY
echo "seeded: $(ls corpus/decode_frame | wc -l) frames, $(ls corpus/decode_message | wc -l) payloads"
