ALTER TABLE guest_search_terms
    ADD CONSTRAINT guest_search_terms_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id),
    ADD CONSTRAINT guest_search_terms_guest_id_fkey FOREIGN KEY (guest_id) REFERENCES guests (id);
ALTER TABLE guest_tags
    ADD CONSTRAINT guest_tags_org_id_fkey FOREIGN KEY (org_id) REFERENCES organizations (id),
    ADD CONSTRAINT guest_tags_guest_id_fkey FOREIGN KEY (guest_id) REFERENCES guests (id);
