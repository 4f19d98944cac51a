from .cli.app import main

if __name__ == "__main__":  # a multiprocessing child that imports this module must not rerun the CLI
    main()
