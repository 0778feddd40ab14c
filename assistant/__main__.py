from assistant.cli.main import cli

cli()
