DROP TABLE guest_grants_used;
