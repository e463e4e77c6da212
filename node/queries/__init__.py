"""Queries, counts and exports of the province's records (信息查询统计)."""
