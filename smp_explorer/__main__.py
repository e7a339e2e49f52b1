from smp_explorer.cli.main import main

raise SystemExit(main())
