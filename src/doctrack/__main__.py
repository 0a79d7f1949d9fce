from doctrack.cli import main

main()
