"""``python -m bench realtime|discovery|load|roundtrips|commandcpu|mail|inbox|filter|scrape|overhead|scaleout``:
one benchmark."""

import sys

from bench.command import main

sys.exit(main())
