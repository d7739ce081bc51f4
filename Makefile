# The README's commands. Each does the set-up first, so a bare machine needs nothing else.
FLASK := .venv/bin/flask --app app
PYTEST := .venv/bin/python -m pytest

.PHONY: setup migrate run serve test test-sqlite test-postgres lint layers bench

setup:
	@bash scripts/setup.sh

# The schema at the migrations' head and the industry map from its data files: what both servers need.
migrate: setup
	$(FLASK) db upgrade
	$(FLASK) map load

run: migrate
	$(FLASK) demo load --if-empty
	$(FLASK) demo accounts
	.venv/bin/gunicorn -c gunicorn.conf.py app:app

# Production: the database DATABASE_URL names (SQLite under instance/ when unset), migrated and
# its map loaded, no demo data; gunicorn on BIND (127.0.0.1:5000, for nginx in front).
serve: migrate
	@[ -n "$$DATABASE_URL" ] || echo "==> 未设置 DATABASE_URL：使用 SQLite instance/lianzhao.sqlite3（生产环境请用 PostgreSQL）"
	.venv/bin/gunicorn -c gunicorn.conf.py app:app

test: setup
	$(MAKE) --no-print-directory layers
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	@echo "==> 测试套件 (SQLite)"
	$(PYTEST)

test-postgres:
	@echo "==> 测试套件 (PostgreSQL)"
	bash scripts/with-postgres.sh $(PYTEST)

lint: setup
	.venv/bin/ruff check .
	$(MAKE) --no-print-directory layers

# The import contract of pyproject.toml: every layer imports only from the layers below it.
layers:
	@echo "==> 分层约束 (import-linter)"
	.venv/bin/lint-imports --no-cache

bench: setup
	.venv/bin/python -m bench
