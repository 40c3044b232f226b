"""documents: files attached to partners, contacts, agreements and projects, with versions

Revision ID: 7d0c5e6f7a81
Revises: 5e4c1a9b7d20
Create Date: 2026-11-25 14:33:31.591027

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d0c5e6f7a81'
down_revision = "d5a1e2b3c4f5"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('document',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partner_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('agreement_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('current_number', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('archived_at', sa.DateTime(), nullable=True),
    sa.Column('archived_by_id', sa.Integer(), nullable=True),
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('signed', 'scan', 'annex', 'minutes', 'other')", name=op.f('ck_document_kind_known')),
    sa.CheckConstraint('(CASE WHEN partner_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN agreement_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN project_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_document_one_owner')),
    sa.CheckConstraint('current_number > 0', name=op.f('ck_document_current_number_positive')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreement.id'], name=op.f('fk_document_agreement_id_agreement')),
    sa.ForeignKeyConstraint(['archived_by_id'], ['user.id'], name=op.f('fk_document_archived_by_id_user')),
    sa.ForeignKeyConstraint(['contact_id'], ['contact.id'], name=op.f('fk_document_contact_id_contact')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_document_created_by_id_user')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_document_owner_id_user')),
    sa.ForeignKeyConstraint(['partner_id'], ['partner.id'], name=op.f('fk_document_partner_id_partner')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_document_project_id_project')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['user.id'], name=op.f('fk_document_updated_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document'))
    )
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_index('ix_document_agreement_id_id', ['agreement_id', 'id'], unique=False)
        batch_op.create_index('ix_document_contact_id_id', ['contact_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_document_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index('ix_document_partner_id_id', ['partner_id', 'id'], unique=False)
        batch_op.create_index('ix_document_project_id_id', ['project_id', 'id'], unique=False)

    op.create_table('document_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('file_type', sa.String(length=10), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('number > 0', name=op.f('ck_document_version_number_positive')),
    sa.CheckConstraint('size > 0', name=op.f('ck_document_version_size_positive')),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], name=op.f('fk_document_version_document_id_document')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user.id'], name=op.f('fk_document_version_uploaded_by_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_document_version')),
    sa.UniqueConstraint('document_id', 'number', name=op.f('uq_document_version_document_id_number')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_document_version_stored_name'))
    )


def downgrade():
    op.drop_table('document_version')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index('ix_document_project_id_id')
        batch_op.drop_index('ix_document_partner_id_id')
        batch_op.drop_index(batch_op.f('ix_document_owner_id'))
        batch_op.drop_index('ix_document_contact_id_id')
        batch_op.drop_index('ix_document_agreement_id_id')

    op.drop_table('document')
