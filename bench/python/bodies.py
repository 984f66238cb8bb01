"""The task bodies of bench/fixtures/bodies.ts, ported line for line."""


def noop(_payload=None):
    return None


def echo(payload):
    return payload


def square(n):
    return n * n
