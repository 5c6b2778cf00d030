package io.github.ddpm4j.server;

import java.io.IOException;
import java.io.InputStream;

/** The page at {@code GET /}, from the resource {@code index.html} beside this class. */
final class Page {
  private Page() {}

  /**
   * @return the page's bytes (UTF-8 HTML)
   * @throws IOException if the resource is missing from the build or cannot be read
   */
  static byte[] load() throws IOException {
    try (InputStream in = Page.class.getResourceAsStream("index.html")) {
      if (in == null) throw new IOException("the page io/github/ddpm4j/server/index.html is missing from the class path (a broken build?)");
      return in.readAllBytes();
    }
  }
}
