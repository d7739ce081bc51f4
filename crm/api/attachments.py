"""/api/v1/projects/<id>/attachments: a project's files (list) and uploading one (multipart). The
file itself is fetched at the `url` each item gives (/attachments/<id>), through the same scope."""

from flask import jsonify, request
from flask_login import current_user

from crm.api.common import bp, respond
from crm.api.serializers import attachment_json
from crm.auth.permissions import get_visible_or_404, roles_required
from crm.core.transaction import commit
from crm.projects.attachments import AttachmentError, live_attachments, store_attachment
from crm.projects.funds import entry_of
from crm.projects.models import Project
from crm.projects.service import UPDATE_REPORTERS


@bp.route("/projects/<int:project_id>/attachments")
def project_attachments(project_id: int):
    """A project's files that are not deleted, newest first.
    ---
    get:
      summary: 项目附件列表
      description: >-
        项目的附件（不含已删除的），最新的在前。文件内容从各项的 url 下载，
        同样只对能看到该项目的用户开放。
      tags: [项目]
      responses:
        "200":
          description: 附件
          content:
            application/json:
              schema: {$ref: "#/components/schemas/AttachmentList"}
        "404": {$ref: "#/components/responses/NotFound"}
    """
    project = get_visible_or_404(Project, project_id)
    return jsonify(items=[attachment_json(a) for a in live_attachments(project)])


@bp.route("/projects/<int:project_id>/attachments", methods=["POST"])
@roles_required(*UPDATE_REPORTERS)
def create_project_attachment_api(project_id: int):
    """Upload a file to a project (multipart: `file` and `category`).
    ---
    post:
      summary: 上传项目附件
      description: >-
        multipart/form-data：file 为文件，category 为附件类别。只接受 PDF、图片（PNG、JPEG、GIF、WebP）和
        Office 文档（.docx/.xlsx/.pptx 及 .doc/.xls/.ppt），类型按文件内容识别，文件名的扩展名须与内容相符；
        单个文件不超过 20 MB（ATTACHMENT_MAX_BYTES）。
      tags: [项目]
      requestBody:
        required: true
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file, category]
              properties:
                file: {type: string, format: binary, description: 文件（文件名即保存的名称）}
                category: {$ref: "#/components/schemas/Attachment/properties/category"}
                fund_entry_id: {type: integer, description: 所证明的到位资金登记（本项目的；可不填）}
      responses:
        "201":
          description: 已上传的附件
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Attachment"}
        "400": {$ref: "#/components/responses/BadRequest"}
        "404": {$ref: "#/components/responses/NotFound"}
        "413":
          description: 请求超过上传上限
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Error"}
    """
    project = get_visible_or_404(Project, project_id)  # 404 before the file is looked at
    upload, category = request.files.get("file"), request.form.get("category", "")
    by = current_user._get_current_object()

    def store():
        # A receipt names the entry it proves: one of this project's, or a Chinese 400.
        named = (request.form.get("fund_entry_id") or "").strip()
        entry = entry_of(project, named)
        if named and entry is None:
            raise AttachmentError(f"到位资金登记“{named[:12]}”不存在或不属于本项目", field="fund_entry_id")
        return store_attachment(project, upload, category, by, fund_entry=entry)

    return respond(commit(store), attachment_json, 201)
