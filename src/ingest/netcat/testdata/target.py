# The target host B of ../shared/fixtures/real-tools/README.md, for tests that make netcat output
# inside a network namespace: run inside the namespace; prints "ready" once every socket is open.
import socket, sys, threading, time

S = []


def tcp(fam, addr, port, banner=None):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((addr, port))
    s.listen(16)
    S.append(s)

    def serve():
        while True:
            c, _ = s.accept()
            if banner:
                try:
                    c.sendall(banner)
                except OSError:
                    pass
            c.close()

    threading.Thread(target=serve, daemon=True).start()


tcp(socket.AF_INET, '198.18.0.2', 2222, b'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n')
tcp(socket.AF_INET, '198.18.0.2', 3306)
tcp(socket.AF_INET, '198.18.0.2', 9090)
tcp(socket.AF_INET, '0.0.0.0', 9443)
tcp(socket.AF_INET6, 'fd00:198:18::2', 11211, b'-ERR\r\n')
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(('198.18.0.2', 514))
S.append(u)
print('ready', flush=True)
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 60)
