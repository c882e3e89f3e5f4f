from threadtag.cli import console_main

console_main()
