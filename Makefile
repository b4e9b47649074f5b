.PHONY: run test

# Bring the whole system up on this machine: web, worker, beat and poller.
run:
	@bash deployment/local/run.sh

# Run the test suite against a real Redis (and PostgreSQL when DATABASE_URL is set).
test:
	@bash deployment/local/test.sh
