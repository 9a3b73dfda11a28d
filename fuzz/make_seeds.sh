#!/usr/bin/env bash
# Regenerates the seed corpora in corpus/<target>/ from the test vectors in the p2panda 0.7 notes
# (sections A4, A5, A6, B3, B4, B5 and B6). The seeds are committed; rerun this only to change them.
# corpus/fuzz_quic_receive comes from a real handshake instead: build-fuzz/fuzz/capture_quic_seeds
# fuzz/corpus/fuzz_quic_receive (see docs/net.md, "Fuzzing the receive path").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/corpus"

pk=e415c4190cc7f1647a592ebf8e5f905c2adef9948b175b2b5c11e14511b51620
log=2ada83c1819a5372dae1238fc1ded123c8104fdaa15862aaee69428a1820fcda
zeros=$(printf '0%.0s' {1..64})

# A4: p2panda-core's header fixtures (no extensions).
a4_1=85015820${pk}584011815a20d4e04a8ddb52a02313cd5237f7cc799980cb7b666c5a3c17dfb0fb9af383b1368ed200e77d5ace1cf025b358c8f6b931f687f285807f1676176616020000
a4_2=86015820${pk}5840bb599da5c5164f91e374e2cbe7d5e1fdc5fdf09310e0ba925e7e4fb9965466106d38f1e4a4bf992f8ebd0c479f8f51cc6c7c1627de7a58c67b7d02d31cc45a000d5820bf7f440de32bfc9b3194b002a2d9afab312cb5d74771d3c31d80c0a9058aa08e00
a4_3=86015820${pk}58405af1dbb37160cff5c10373a654b1ecbfc28622d675b6827961096eaa232c9bcd93b4eabc11276d928e44b5ba77c5472df5f6208b2ec5960cff6e8663058bdf0d00015820442bfafb2f97793a1e901881ab235938a1704b5ba8c9c379a99b5568813c8da1
# A5: truncated inputs that must fail cleanly.
a5_1=89015820e415c4190cc7f1647a592ebf8e5f90
a5_2=828901582014d59877a250
# B3: Node API operations (Basic extensions), seq 0 with a body and seq 1 with the prune flag.
b3_ext=8501005820${log}1b00060a24181e4000f4
b3_body=6d48656c6c6f2c2050616e646121
b3_0=87015820${pk}584003dc572dcee1b039dc0d874b4d001a9adfaf34de980fdb5116a516f31f7bd6b7fc24ea7fc90487b311f98c9ec2836dce95877599904e16abb66f86fe0ca8f10e0e5820c6208537343f375abecc6811528fe87ed3b51f344765e7586f645bd05ed27e9000${b3_ext}
b3_1=87015820${pk}58402b8484b4d298f17ae433dacbc00ab965c46b110fb065513540156bbab51358baf00d088082f39e4ec629b7b524e48487e8850316671e080f2a9a19983165f506000158203e99b5df1e513c29828328aecf5ee80a4f40838f6c7635db4db0371123107aaf8501005820${log}1b00060a24181e4001f5
# B4: an ack cursor; B6: an ephemeral message.
b4=827840$(printf '30%.0s' {1..64})a15820${pk}a15820${log}01
b6=86015820${pk}5840f18a91c2cffd111d458c7e68e40ff3bc379b9fcb0341cfee9c346292ec3f366490ec5f426a963548c88dac38c190bd0ace727366e5c4c347369c06a8a67683051b00060a24181e400000624869
# B5 and A6: wire frames.
f_topic=000000220020${zeros}
f_done=0000000101
f_have0=00000003000000
f_have1=0000004700000120${pk}0120${log}01
f_presync=00000005000102ac02
f_operation=000000cd0002b901${b3_0}010e${b3_body}
f_sync_done=000000020003
f_live=000000b601070120${pk}402b8484b4d298f17ae433dacbc00ab965c46b110fb065513540156bbab51358baf00d088082f39e4ec629b7b524e48487e8850316671e080f2a9a19983165f5060001203e99b5df1e513c29828328aecf5ee80a4f40838f6c7635db4db0371123107aaf05010020${log}8180f9c0c1c482030100
f_close=0000000102
f_hello=000000060568656c6c6f
f_too_large=0000100101

put() { mkdir -p "$1" && printf '%s' "$3" | xxd -r -p >"$1/$2.bin"; }

for target in fuzz_cbor_reader fuzz_header_decode; do
  put $target a4_1 "$a4_1"; put $target a4_2 "$a4_2"; put $target a4_3 "$a4_3"
  put $target a5_1 "$a5_1"; put $target a5_2 "$a5_2"
  put $target b3_0 "$b3_0"; put $target b3_1 "$b3_1"; put $target b3_ext "$b3_ext"
  put $target b4_cursor "$b4"; put $target b6_ephemeral "$b6"
done
put fuzz_cbor_reader b3_body "$b3_body"

# fuzz_frame_postcard reads a control byte first: 3f = chunks of up to 64 bytes, 80 = all at once,
# 07 = up to 8, 00 = byte by byte.
target=fuzz_frame_postcard
put $target b5_topic 3f$f_topic; put $target b5_done 3f$f_done; put $target b5_have0 3f$f_have0
put $target b5_have1 3f$f_have1; put $target b5_presync 3f$f_presync
put $target b5_operation 80$f_operation; put $target b5_sync_done 3f$f_sync_done
put $target b5_live 80$f_live; put $target b5_close 3f$f_close; put $target a6_hello 00$f_hello
put $target b5_session \
  07$f_topic$f_done$f_have1$f_presync$f_operation$f_sync_done$f_live$f_close
put $target too_large 3f$f_too_large
