from .cli import app

if __name__ == "__main__":  # a multiprocessing child that imports this module must not rerun the CLI
    app(prog_name="dyadwatch")
