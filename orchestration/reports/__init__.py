"""Blue-book reports generated from the serving database after each publish."""
