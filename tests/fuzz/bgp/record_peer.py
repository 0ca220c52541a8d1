#!/usr/bin/env python3
# Minimal passive BGP recorder used to capture the captured_* seeds here and
# the goldens in tests/unit/bgp/captured_codec_test.cpp. Run it in a private
# netns, point a real speaker at it (GoBGP 3: neighbor 127.0.0.1 with
# global port -1; BIRD 2: `neighbor 127.0.0.1 port P as 65000; multihop;`,
# plus `enable as4 off` for the 2-octet capture), and it writes every message
# received to OUTDIR/NNN_type.bin.
#   usage: record_peer.py ADDR PORT LOCAL_ASN OUTDIR SECONDS
import socket, struct, sys, time, os
addr, port, asn, outdir, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
os.makedirs(outdir, exist_ok=True)
def msg(t, body): return b'\xff'*16 + struct.pack('!HB', 19+len(body), t) + body
caps = b''
for afi in (1, 2): caps += bytes([2, 6, 1, 4, 0, afi, 0, 1])
caps += bytes([2, 2, 2, 0])                    # route refresh
caps += bytes([2, 6, 65, 4]) + struct.pack('!I', asn)
caps += bytes([2, 8, 64, 6, 0x00, 0x78, 0, 1, 1, 0x80])  # GR
open_body = struct.pack('!BHHIB', 4, asn if asn < 65536 else 23456, 90, 0x0a0000fe, len(caps)) + caps
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port)); s.listen(1); s.settimeout(secs)
c, _ = s.accept(); c.settimeout(0.5)
c.sendall(msg(1, open_body)); c.sendall(msg(4, b''))
buf = b''; n = 0; end = time.time() + secs; last_ka = time.time()
while time.time() < end:
    try:
        d = c.recv(65536)
        if not d: break
        buf += d
    except socket.timeout:
        pass
    while len(buf) >= 19:
        l = struct.unpack('!H', buf[16:18])[0]
        if len(buf) < l: break
        m, buf = buf[:l], buf[l:]
        names = {1:'open',2:'update',3:'notification',4:'keepalive',5:'refresh'}
        open(f'{outdir}/{n:03d}_{names.get(m[18], "x")}.bin', 'wb').write(m); n += 1
    if time.time() - last_ka > 3:
        c.sendall(msg(4, b'')); last_ka = time.time()
print(n, 'messages')
