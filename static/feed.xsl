<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an RSS 2.0 or Atom 1.0 feed opened in a browser as a page: what the feed is, how to
     subscribe, and its items. Feed readers ignore it (it is only an xml-stylesheet instruction). -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="UTF-8" indent="yes" doctype-system="about:legacy-compat"/>

  <xsl:template match="/">
    <xsl:variable name="title" select="rss/channel/title | atom:feed/atom:title"/>
    <xsl:variable name="self" select="(rss/channel/atom:link[@rel='self'] | atom:feed/atom:link[@rel='self'])/@href"/>
    <xsl:variable name="home" select="rss/channel/link | atom:feed/atom:link[@rel='alternate']/@href"/>
    <html>
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <style>
          body{margin:0 auto;max-width:42rem;padding:1rem;font:1rem/1.6 system-ui,"Noto Sans CJK SC",sans-serif;color:#1a1a1a}
          .subscribe{background:#f3f6fa;border:1px solid #d5dfeb;padding:.6rem .9rem;border-radius:.4rem}
          code{word-break:break-all}ol{padding-left:1.2rem}li{margin:0 0 .9rem}.meta{color:#555;font-size:.9rem}
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="$title"/></h1>
        <p><xsl:value-of select="rss/channel/description | atom:feed/atom:subtitle"/></p>
        <div class="subscribe">
          <p><strong>This is a web feed.</strong> To follow it, copy this address into your feed reader
          (NetNewsWire, Feedly, Inoreader, Miniflux, newsboat, Thunderbird …):</p>
          <p><code><xsl:value-of select="$self"/></code></p>
          <p><a href="{$home}">Visit the site</a></p>
        </div>
        <h2>Latest items</h2>
        <ol class="items">
          <xsl:for-each select="rss/channel/item">
            <li>
              <a href="{link}"><xsl:value-of select="title"/></a>
              <div class="meta"><xsl:value-of select="pubDate"/></div>
              <div><xsl:value-of select="description"/></div>
            </li>
          </xsl:for-each>
          <xsl:for-each select="atom:feed/atom:entry">
            <li>
              <a href="{atom:link[not(@rel) or @rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a>
              <div class="meta"><xsl:value-of select="atom:published"/></div>
              <div><xsl:value-of select="atom:summary"/></div>
            </li>
          </xsl:for-each>
        </ol>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
