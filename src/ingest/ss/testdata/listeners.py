import socket, time, sys
S = []
def tcp(fam, addr, port, v6only=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((addr, port)); s.listen(16); S.append(s)
def udp(fam, addr, port, v6only=None):
    s = socket.socket(fam, socket.SOCK_DGRAM)
    if v6only is not None: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((addr, port)); S.append(s)
I4, I6 = socket.AF_INET, socket.AF_INET6
tcp(I4, '0.0.0.0', 22)
tcp(I6, '::', 22, 1)
tcp(I4, '198.18.0.2', 9090)
tcp(I6, 'fd00:198:18::2', 11211)
tcp(I4, '127.0.0.1', 5432)
tcp(I6, '::1', 631)
tcp(I6, '::', 8443, 0)          # dual-stack: ss shows *:8443
tcp(I6, '::ffff:198.18.0.2', 3306, 0)
udp(I4, '0.0.0.0', 68)
udp(I4, '198.18.0.2', 514)
udp(I6, '::', 5353, 0)          # dual-stack udp: *:5353
udp(I4, '127.0.0.53', 53)
tcp(I4, '127.0.0.53', 53)
print('ready', flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 30)
