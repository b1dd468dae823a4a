# Test FTP server (scripts/services/ftpd.py) for docker-compose.yml, service "ftp".
FROM python:3.12-slim
RUN pip install --no-cache-dir --disable-pip-version-check 'pyftpdlib>=1.5.9'
COPY scripts/services/ftpd.py /usr/local/bin/ftpd.py
EXPOSE 2121 30000-30009
CMD ["python", "/usr/local/bin/ftpd.py", "--host", "0.0.0.0", "--port", "2121", "--root", "/srv/ftp"]
