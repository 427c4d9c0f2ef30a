# make run   installs what is missing, builds, and serves the plugin on
#            127.0.0.1 (Admin API 8001, Portal API 8004, proxy 8000).
# make test  installs what is missing, builds, and runs every test.
CONF ?= kong.conf
PREFIX ?= servroot
CARGO ?= cargo

.PHONY: deps build run stop test bench clean

deps:
	scripts/install-deps

build:
	$(CARGO) build --release
	mkdir -p target/lua
	cp target/release/libdeveloper_portal_core.so target/lua/developer_portal_core.so

run: deps build
	host/run start --foreground --conf $(CONF) --prefix $(PREFIX)

stop:
	host/run stop --prefix $(PREFIX)

test: deps build
	scripts/test

clean:
	rm -rf target servroot node_modules
