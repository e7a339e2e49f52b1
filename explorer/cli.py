def main(argv=None) -> int:
    raise SystemExit("CLI under construction")
