"""Port helper shared by the kvstore test scripts (badinput.py, faulttest.py)."""
import random
import socket


def free_base(n):
    """A base port with n free consecutive ports on 127.0.0.1 (several test
    runs may share the machine)."""
    for _ in range(200):
        base = random.randint(20000, 60000 - n)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free ports")
