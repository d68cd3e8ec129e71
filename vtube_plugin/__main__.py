from vtube_plugin.cli import main

raise SystemExit(main())
