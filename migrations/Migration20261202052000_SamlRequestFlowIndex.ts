import { Migration } from '@mikro-orm/migrations';

export class Migration20261202052000_SamlRequestFlowIndex extends Migration {

  override async up(): Promise<void> {
    this.addSql(`create index "saml_request_flow_id_index" on "saml_request" ("flow_id");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "saml_request_flow_id_index";`);
  }

}
