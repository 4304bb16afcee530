from licscan.cli.main import main

main()
