DROP TABLE audit_logs, last_visited_workspace, user_statuses, profiles, join_requests,
    guest_channel_access, invites, members, workspaces, two_factor, password_resets,
    password_history, lockouts, sessions, users;
