import httpx


async def test_health_answers(site_client: httpx.AsyncClient) -> None:
    response = await site_client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"
