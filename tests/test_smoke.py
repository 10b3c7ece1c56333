def test_home_renders_for_county(client_for):
    response = client_for("county_jianghua").get("/")
    assert response.status_code == 200
    assert "江华瑶族自治县" in response.content.decode()
