"""The JSON API skeleton: same login session, Chinese JSON errors."""


def test_anonymous_gets_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json() == {"error": "请先登录"}


def test_me_on_the_login_session(client, login_as):
    user = login_as("district", "长寿区", display_name="长寿专员")
    data = client.get("/api/v1/me").get_json()
    assert data["user"] == {
        "id": user.id,
        "username": user.username,
        "display_name": "长寿专员",
        "role": "district",
        "role_label": "区县专员",
        "district": "长寿区",
    }
    assert data["csrf_token"]


def test_index_lists_resources(client, login_as):
    login_as("officer")
    assert client.get("/api/v1/").get_json()["resources"]["me"] == "/api/v1/me"


def test_api_errors_are_chinese_json(client, login_as):
    login_as("officer")
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404 and response.get_json() == {"error": "您访问的页面或数据不存在。"}
    response = client.post("/api/v1/me")
    assert response.status_code == 405 and response.get_json() == {"error": "不支持该请求方式。"}


def test_api_never_returns_the_password_hash(client, login_as):
    user = login_as("admin")
    assert user.password_hash not in client.get("/api/v1/me").get_data(as_text=True)
