"""Annual reassessment and exit certification (年度核查与退出)."""
